/* test_cdbmap.c: building and reading cdb maps. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdbmap.h"
#include "unit_tmpdir.h"

static void add_pair(dstr *pairs, const char *k, const char *v)
{
    ck_assert_int_eq(dstr_cats(pairs, k), 0);
    ck_assert_int_eq(dstr_catc(pairs, 0), 0);
    ck_assert_int_eq(dstr_cats(pairs, v), 0);
    ck_assert_int_eq(dstr_catc(pairs, 0), 0);
}

/* Files in the current directory other than . and .. */
static int dir_entries(void)
{
    DIR *d = opendir(".");
    struct dirent *de;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(make_and_lookup)
{
    dstr pairs = DSTR_ZERO, v = DSTR_ZERO;
    add_pair(&pairs, "!alice-", "alice\0001001");
    add_pair(&pairs, "example.org", "relay");
    add_pair(&pairs, "empty", "");
    ck_assert_int_eq(cdbmap_make("users.cdb", &pairs), 0);
    ck_assert_int_eq(dir_entries(), 1); /* no temporary file left */

    ck_assert_int_eq(cdbmap_lookup("users.cdb", "example.org", 11, &v), 1);
    ck_assert(dstr_equals(&v, "relay"));
    ck_assert_int_eq(cdbmap_lookup("users.cdb", "!alice-", 7, &v), 1);
    ck_assert(dstr_equals(&v, "alice"));
    ck_assert_int_eq(cdbmap_lookup("users.cdb", "empty", 5, &v), 1);
    ck_assert_uint_eq(v.len, 0);
    /* not found: 0, value left alone */
    ck_assert_int_eq(dstr_copys(&v, "unchanged"), 0);
    ck_assert_int_eq(cdbmap_lookup("users.cdb", "example.com", 11, &v), 0);
    ck_assert_int_eq(cdbmap_lookup("users.cdb", "example.or", 10, &v), 0);
    ck_assert_int_eq(cdbmap_lookup("users.cdb", "EXAMPLE.ORG", 11, &v), 0);
    ck_assert_int_eq(cdbmap_lookup("users.cdb", "", 0, &v), 0);
    ck_assert(dstr_equals(&v, "unchanged"));
    dstr_free(&pairs);
    dstr_free(&v);
}
END_TEST

START_TEST(missing_file)
{
    dstr v = DSTR_ZERO;
    ck_assert_int_eq(cdbmap_lookup("nothere.cdb", "k", 1, &v), 0);
    ck_assert_int_eq(cdbmap_lookup("nodir/nothere.cdb", "k", 1, &v), 0);
    dstr_free(&v);
}
END_TEST

START_TEST(bad_files)
{
    dstr v = DSTR_ZERO;
    tmpdir_puts("junk.cdb", "this is not a cdb file");
    ck_assert_int_eq(cdbmap_lookup("junk.cdb", "k", 1, &v), -1);
    ck_assert_int_eq(mkdir("dir.cdb", 0755), 0);
    ck_assert_int_eq(cdbmap_lookup("dir.cdb", "k", 1, &v), -1);
    dstr_free(&v);
}
END_TEST

START_TEST(binary_values_and_many_keys)
{
    dstr pairs = DSTR_ZERO, v = DSTR_ZERO;
    char k[32], val[32];
    int i;
    for (i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        snprintf(val, sizeof val, "value\x01\xff%d", i * 7);
        add_pair(&pairs, k, val);
    }
    ck_assert_int_eq(cdbmap_make("m.cdb", &pairs), 0);
    for (i = 0; i < 2000; i += 37) {
        snprintf(k, sizeof k, "key%d", i);
        snprintf(val, sizeof val, "value\x01\xff%d", i * 7);
        ck_assert_int_eq(cdbmap_lookup("m.cdb", k, strlen(k), &v), 1);
        ck_assert(dstr_equals(&v, val));
    }
    ck_assert_int_eq(cdbmap_lookup("m.cdb", "key2000", 7, &v), 0);
    dstr_free(&pairs);
    dstr_free(&v);
}
END_TEST

START_TEST(duplicate_key_first_wins)
{
    dstr pairs = DSTR_ZERO, v = DSTR_ZERO;
    add_pair(&pairs, "k", "first");
    add_pair(&pairs, "k", "second");
    ck_assert_int_eq(cdbmap_make("d.cdb", &pairs), 0);
    ck_assert_int_eq(cdbmap_lookup("d.cdb", "k", 1, &v), 1);
    ck_assert(dstr_equals(&v, "first"));
    dstr_free(&pairs);
    dstr_free(&v);
}
END_TEST

START_TEST(empty_map)
{
    dstr pairs = DSTR_ZERO, v = DSTR_ZERO;
    ck_assert_int_eq(cdbmap_make("e.cdb", &pairs), 0);
    ck_assert_int_eq(cdbmap_lookup("e.cdb", "k", 1, &v), 0);
    dstr_free(&v);
}
END_TEST

START_TEST(rebuild_replaces)
{
    dstr pairs = DSTR_ZERO, v = DSTR_ZERO;
    add_pair(&pairs, "a", "1");
    ck_assert_int_eq(cdbmap_make("r.cdb", &pairs), 0);
    pairs.len = 0;
    add_pair(&pairs, "b", "2");
    ck_assert_int_eq(cdbmap_make("r.cdb", &pairs), 0);
    ck_assert_int_eq(cdbmap_lookup("r.cdb", "a", 1, &v), 0);
    ck_assert_int_eq(cdbmap_lookup("r.cdb", "b", 1, &v), 1);
    ck_assert(dstr_equals(&v, "2"));
    ck_assert_int_eq(dir_entries(), 1);
    dstr_free(&pairs);
    dstr_free(&v);
}
END_TEST

/* A key without a value, or bytes after the last NUL: refused, and the
 * old map stays in place. */
START_TEST(malformed_pairs)
{
    dstr pairs = DSTR_ZERO, v = DSTR_ZERO;
    add_pair(&pairs, "a", "1");
    ck_assert_int_eq(cdbmap_make("r.cdb", &pairs), 0);

    pairs.len = 0;
    add_pair(&pairs, "b", "2");
    ck_assert_int_eq(dstr_catb(&pairs, "lonely\0", 7), 0);
    errno = 0;
    ck_assert_int_eq(cdbmap_make("r.cdb", &pairs), -1);
    ck_assert_int_eq(errno, EINVAL);

    pairs.len = 0;
    add_pair(&pairs, "b", "2");
    ck_assert_int_eq(dstr_cats(&pairs, "trailing"), 0);
    errno = 0;
    ck_assert_int_eq(cdbmap_make("r.cdb", &pairs), -1);
    ck_assert_int_eq(errno, EINVAL);

    pairs.len = 0;
    add_pair(&pairs, "b", "2");
    ck_assert_int_eq(dstr_catb(&pairs, "k\0v", 3), 0);
    errno = 0;
    ck_assert_int_eq(cdbmap_make("r.cdb", &pairs), -1);
    ck_assert_int_eq(errno, EINVAL);

    ck_assert_int_eq(cdbmap_lookup("r.cdb", "a", 1, &v), 1);
    ck_assert_int_eq(cdbmap_lookup("r.cdb", "b", 1, &v), 0);
    ck_assert_int_eq(dir_entries(), 1);
    dstr_free(&pairs);
    dstr_free(&v);
}
END_TEST

START_TEST(make_in_missing_dir)
{
    dstr pairs = DSTR_ZERO;
    add_pair(&pairs, "a", "1");
    ck_assert_int_eq(cdbmap_make("nodir/x.cdb", &pairs), -1);
    ck_assert_int_eq(errno, ENOENT);
    dstr_free(&pairs);
}
END_TEST

static Suite *cdbmap_suite(void)
{
    Suite *s = suite_create("cdbmap");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_add_test(tc, make_and_lookup);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, bad_files);
    tcase_add_test(tc, binary_values_and_many_keys);
    tcase_add_test(tc, duplicate_key_first_wins);
    tcase_add_test(tc, empty_map);
    tcase_add_test(tc, rebuild_replaces);
    tcase_add_test(tc, malformed_pairs);
    tcase_add_test(tc, make_in_missing_dir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cdbmap_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
