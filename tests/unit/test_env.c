/* test_env.c: environment reading and building for child processes. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

extern char **environ;

/* Entries of e named name ("NAME=..."), and a check of the invariants. */
static size_t count_named(const envbuild *e, const char *name)
{
    size_t i, c = 0, nlen = strlen(name);
    ck_assert_ptr_nonnull(e->vec);
    ck_assert_ptr_null(e->vec[e->n]);
    for (i = 0; i < e->n; i++) {
        ck_assert_ptr_nonnull(e->vec[i]);
        if (strncmp(e->vec[i], name, nlen) == 0 && e->vec[i][nlen] == '=')
            c++;
    }
    return c;
}

static const char *value_of(const envbuild *e, const char *name)
{
    size_t i, nlen = strlen(name);
    for (i = 0; i < e->n; i++)
        if (strncmp(e->vec[i], name, nlen) == 0 && e->vec[i][nlen] == '=')
            return e->vec[i] + nlen + 1;
    return NULL;
}

START_TEST(get_and_isset)
{
    ck_assert_int_eq(unsetenv("QTEST_VAR"), 0);
    ck_assert_ptr_null(env_get("QTEST_VAR"));
    ck_assert_int_eq(env_isset("QTEST_VAR"), 0);
    ck_assert_int_eq(setenv("QTEST_VAR", "", 1), 0);
    ck_assert_int_eq(env_isset("QTEST_VAR"), 1);
    ck_assert_str_eq(env_get("QTEST_VAR"), "");
    ck_assert_int_eq(setenv("QTEST_VAR", "v", 1), 0);
    ck_assert_str_eq(env_get("QTEST_VAR"), "v");
}
END_TEST

START_TEST(build_empty)
{
    envbuild e = ENVBUILD_ZERO;
    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    ck_assert_uint_eq(e.n, 0);
    ck_assert_ptr_nonnull(e.vec);
    ck_assert_ptr_null(e.vec[0]);
    envbuild_free(&e);
    ck_assert_ptr_null(e.vec);
    envbuild_free(&e);
}
END_TEST

START_TEST(set_replace_unset)
{
    envbuild e;
    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    ck_assert_int_eq(envbuild_set(&e, "HOME", "/home/a"), 0);
    ck_assert_int_eq(envbuild_set(&e, "USER", "a"), 0);
    ck_assert_int_eq(envbuild_set(&e, "HOM", "prefix"), 0);
    ck_assert_int_eq(envbuild_set(&e, "EMPTY", ""), 0);
    ck_assert_uint_eq(e.n, 4);
    ck_assert_int_eq(envbuild_set(&e, "HOME", "/home/b"), 0);
    ck_assert_uint_eq(e.n, 4);
    ck_assert_uint_eq(count_named(&e, "HOME"), 1);
    ck_assert_str_eq(value_of(&e, "HOME"), "/home/b");
    ck_assert_str_eq(value_of(&e, "HOM"), "prefix");
    ck_assert_str_eq(value_of(&e, "EMPTY"), "");

    ck_assert_int_eq(envbuild_unset(&e, "HOM"), 0);
    ck_assert_uint_eq(e.n, 3);
    ck_assert_ptr_null(value_of(&e, "HOM"));
    ck_assert_str_eq(value_of(&e, "HOME"), "/home/b");
    ck_assert_int_eq(envbuild_unset(&e, "NOT_THERE"), 0);
    ck_assert_int_eq(envbuild_unset(&e, "HOMEX"), 0);
    ck_assert_uint_eq(e.n, 3);
    ck_assert_int_eq(envbuild_unset(&e, "HOME"), 0);
    ck_assert_int_eq(envbuild_unset(&e, "USER"), 0);
    ck_assert_int_eq(envbuild_unset(&e, "EMPTY"), 0);
    ck_assert_uint_eq(e.n, 0);
    ck_assert_ptr_null(e.vec[0]);
    ck_assert_int_eq(envbuild_set(&e, "AGAIN", "1"), 0);
    ck_assert_uint_eq(count_named(&e, "AGAIN"), 1);
    envbuild_free(&e);
}
END_TEST

START_TEST(setb_counts_bytes)
{
    envbuild e;
    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    ck_assert_int_eq(envbuild_setb(&e, "SENDER", "a@b.example and more", 11),
                     0);
    ck_assert_str_eq(value_of(&e, "SENDER"), "a@b.example");
    ck_assert_int_eq(envbuild_setb(&e, "X", NULL, 0), 0);
    ck_assert_str_eq(value_of(&e, "X"), "");
    envbuild_free(&e);
}
END_TEST

START_TEST(bad_names)
{
    envbuild e;
    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    errno = 0;
    ck_assert_int_eq(envbuild_set(&e, "", "x"), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(envbuild_set(&e, "A=B", "x"), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(envbuild_setb(&e, "A", "x", SIZE_MAX), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(envbuild_setb(&e, "A", "x", SIZE_MAX - 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(e.n, 0);
    envbuild_free(&e);
}
END_TEST

START_TEST(inherit)
{
    envbuild e;
    ck_assert_int_eq(setenv("QTEST_INHERIT", "yes", 1), 0);
    ck_assert_int_eq(envbuild_init(&e, 1), 0);
    ck_assert_str_eq(value_of(&e, "QTEST_INHERIT"), "yes");
    /* a copy: later changes to the environment do not show */
    ck_assert_int_eq(setenv("QTEST_INHERIT", "changed", 1), 0);
    ck_assert_str_eq(value_of(&e, "QTEST_INHERIT"), "yes");
    ck_assert_int_eq(envbuild_set(&e, "QTEST_INHERIT", "set"), 0);
    ck_assert_uint_eq(count_named(&e, "QTEST_INHERIT"), 1);
    ck_assert_str_eq(env_get("QTEST_INHERIT"), "changed");
    envbuild_free(&e);

    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    ck_assert_ptr_null(value_of(&e, "QTEST_INHERIT"));
    envbuild_free(&e);
}
END_TEST

/* An environment handed to us may name a variable twice.  Whoever unsets
 * or sets it for a child must not leave the other copy behind. */
START_TEST(inherit_duplicates)
{
    static char a1[] = "IFS=evil1", b[] = "KEEP=1", a2[] = "IFS=evil2",
                c1[] = "HOME=/x", c2[] = "HOME=/y";
    static char *fake[] = {a1, b, a2, c1, c2, NULL};
    char **saved = environ;
    envbuild e;

    environ = fake;
    ck_assert_int_eq(envbuild_init(&e, 1), 0);
    environ = saved;
    ck_assert_uint_eq(e.n, 5);
    ck_assert_int_eq(envbuild_unset(&e, "IFS"), 0);
    ck_assert_uint_eq(count_named(&e, "IFS"), 0);
    ck_assert_int_eq(envbuild_set(&e, "HOME", "/home/z"), 0);
    ck_assert_uint_eq(count_named(&e, "HOME"), 1);
    ck_assert_str_eq(value_of(&e, "HOME"), "/home/z");
    ck_assert_str_eq(value_of(&e, "KEEP"), "1");
    ck_assert_uint_eq(e.n, 2);
    envbuild_free(&e);
}
END_TEST

START_TEST(many)
{
    envbuild e;
    char name[32];
    size_t i;
    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    for (i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "V%zu", i);
        ck_assert_int_eq(envbuild_set(&e, name, name), 0);
    }
    ck_assert_uint_eq(e.n, 1000);
    ck_assert_ptr_null(e.vec[1000]);
    for (i = 0; i < 1000; i += 2) {
        snprintf(name, sizeof name, "V%zu", i);
        ck_assert_int_eq(envbuild_unset(&e, name), 0);
    }
    ck_assert_uint_eq(e.n, 500);
    ck_assert_ptr_null(e.vec[500]);
    ck_assert_str_eq(value_of(&e, "V999"), "V999");
    ck_assert_ptr_null(value_of(&e, "V998"));
    envbuild_free(&e);
}
END_TEST

static Suite *env_suite(void)
{
    Suite *s = suite_create("env");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, get_and_isset);
    tcase_add_test(tc, build_empty);
    tcase_add_test(tc, set_replace_unset);
    tcase_add_test(tc, setb_counts_bytes);
    tcase_add_test(tc, bad_names);
    tcase_add_test(tc, inherit);
    tcase_add_test(tc, inherit_duplicates);
    tcase_add_test(tc, many);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(env_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
