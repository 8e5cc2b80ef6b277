/* test_control.c: qmail control files: defaults, trimming, lists, errors. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "unit_tmpdir.h"

START_TEST(readline_missing_gives_default)
{
    dstr out = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&out, "stale"), 0);
    ck_assert_int_eq(control_readline("me", &out, "default.example"), 0);
    ck_assert(dstr_equals(&out, "default.example"));
    ck_assert_int_eq(control_readline("me", &out, NULL), 0);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(control_readline("nodir/me", &out, "d"), 0);
    ck_assert(dstr_equals(&out, "d"));
    dstr_free(&out);
}
END_TEST

START_TEST(readline_trims)
{
    dstr out = DSTR_ZERO;
    tmpdir_puts("me", "mail.example.org \t \r\nsecond line\n");
    ck_assert_int_eq(control_readline("me", &out, "default"), 1);
    ck_assert(dstr_equals(&out, "mail.example.org"));
    /* leading white space is part of the value for readline */
    tmpdir_puts("me", "  x\n");
    ck_assert_int_eq(control_readline("me", &out, "default"), 1);
    ck_assert(dstr_equals(&out, "  x"));
    /* no newline at all */
    tmpdir_puts("me", "host.example");
    ck_assert_int_eq(control_readline("me", &out, NULL), 1);
    ck_assert(dstr_equals(&out, "host.example"));
    /* CRLF only */
    tmpdir_puts("me", "a b\r\n");
    ck_assert_int_eq(control_readline("me", &out, NULL), 1);
    ck_assert(dstr_equals(&out, "a b"));
    dstr_free(&out);
}
END_TEST

START_TEST(readline_empty_gives_default)
{
    dstr out = DSTR_ZERO;
    tmpdir_puts("me", "");
    ck_assert_int_eq(control_readline("me", &out, "def"), 0);
    ck_assert(dstr_equals(&out, "def"));
    tmpdir_puts("me", "\nsecond\n");
    ck_assert_int_eq(control_readline("me", &out, "def"), 0);
    ck_assert(dstr_equals(&out, "def"));
    tmpdir_puts("me", " \t\r\n");
    ck_assert_int_eq(control_readline("me", &out, NULL), 0);
    ck_assert_uint_eq(out.len, 0);
    dstr_free(&out);
}
END_TEST

/* A file that exists but cannot be read is an error, never the default. */
START_TEST(readline_unreadable)
{
    dstr out = DSTR_ZERO;
    ck_assert_int_eq(mkdir("me", 0755), 0); /* a directory in its place */
    errno = 0;
    ck_assert_int_eq(control_readline("me", &out, "def"), -1);
    ck_assert_int_eq(errno, EISDIR);
    /* a path through a regular file: not "missing" either */
    tmpdir_puts("plain", "x\n");
    ck_assert_int_eq(control_readline("plain/me", &out, "def"), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    dstr_free(&out);
}
END_TEST

START_TEST(readline_mode_000)
{
    dstr out = DSTR_ZERO;
    /* root reads mode 000 files anyway: readline_unreadable covers the
     * error path there with a directory instead */
    if (geteuid() == 0)
        return;
    tmpdir_puts("me", "secret\n");
    ck_assert_int_eq(chmod("me", 0), 0);
    errno = 0;
    ck_assert_int_eq(control_readline("me", &out, "def"), -1);
    ck_assert_int_eq(errno, EACCES);
    dstr_free(&out);
}
END_TEST

START_TEST(readfile_too_big)
{
    dstr out = DSTR_ZERO;
    int fd = open("big", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(ftruncate(fd, CONTROL_MAX_BYTES + 1), 0);
    close(fd);
    errno = 0;
    ck_assert_int_eq(control_readline("big", &out, "def"), -1);
    ck_assert_int_eq(errno, EFBIG);
    errno = 0;
    ck_assert_int_eq(control_readlist("big", &out), -1);
    ck_assert_int_eq(errno, EFBIG);
    dstr_free(&out);
}
END_TEST

START_TEST(readulong)
{
    unsigned long long v = 1;
    ck_assert_int_eq(control_readulong("n", &v, 77), 0);
    ck_assert_uint_eq(v, 77);
    tmpdir_puts("n", "42\n");
    ck_assert_int_eq(control_readulong("n", &v, 77), 1);
    ck_assert_uint_eq(v, 42);
    tmpdir_puts("n", "  12 \r\nignored\n");
    ck_assert_int_eq(control_readulong("n", &v, 77), 1);
    ck_assert_uint_eq(v, 12);
    tmpdir_puts("n", "18446744073709551615");
    ck_assert_int_eq(control_readulong("n", &v, 77), 1);
    ck_assert_uint_eq(v, 18446744073709551615ULL);
    tmpdir_puts("n", "\n");
    ck_assert_int_eq(control_readulong("n", &v, 77), 0);
    ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(readulong_bad)
{
    static const char *const bad[] = {"abc\n", "12abc\n", "-1\n", "+5\n",
                                      "1 2\n", "0x10\n", "1.5\n",
                                      "18446744073709551616\n"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned long long v = 5;
        tmpdir_puts("n", bad[i]);
        errno = 0;
        ck_assert_msg(control_readulong("n", &v, 77) == -1, "accepted %s",
                      bad[i]);
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_uint_eq(v, 5);
    }
}
END_TEST

START_TEST(readulong_unreadable)
{
    unsigned long long v = 5;
    ck_assert_int_eq(mkdir("n", 0755), 0);
    ck_assert_int_eq(control_readulong("n", &v, 77), -1);
    ck_assert_uint_eq(v, 5);
}
END_TEST

/* Count the entries of a list and check them against want[]. */
static void expect_list(const dstr *list, const char *const *want, size_t n)
{
    const char *p;
    size_t i = 0;
    for (p = list_first(list); p; p = list_next(list, p)) {
        ck_assert_uint_lt(i, n);
        ck_assert_str_eq(p, want[i]);
        i++;
    }
    ck_assert_uint_eq(i, n);
}

START_TEST(readlist)
{
    static const char *const want[] = {"example.org", "mail.example.org",
                                       "last.example", "  indented"};
    dstr out = DSTR_ZERO;
    tmpdir_puts("rcpthosts", "# hosts we accept mail for\n"
                             "example.org\n"
                             "\n"
                             "mail.example.org  \r\n"
                             "   \t\n"
                             "#mail.other.example\n"
                             "\r\n"
                             "last.example\n"
                             "  indented\n");
    ck_assert_int_eq(control_readlist("rcpthosts", &out), 1);
    expect_list(&out, want, 4);
    dstr_free(&out);
}
END_TEST

START_TEST(readlist_no_final_newline)
{
    static const char *const want[] = {"a", "b"};
    dstr out = DSTR_ZERO;
    tmpdir_puts("l", "a\nb");
    ck_assert_int_eq(control_readlist("l", &out), 1);
    expect_list(&out, want, 2);
    dstr_free(&out);
}
END_TEST

START_TEST(readlist_missing_and_empty)
{
    dstr out = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&out, "stale\0"), 0);
    ck_assert_int_eq(control_readlist("none", &out), 0);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_ptr_null(list_first(&out));
    tmpdir_puts("l", "# only comments\n\n");
    ck_assert_int_eq(control_readlist("l", &out), 1);
    ck_assert_ptr_null(list_first(&out));
    ck_assert_int_eq(mkdir("d", 0755), 0);
    ck_assert_int_eq(control_readlist("d", &out), -1);
    dstr_free(&out);
}
END_TEST

/* A NUL byte would split one entry into two: such a line is dropped. */
START_TEST(readlist_nul_line)
{
    static const char *const want[] = {"good", "also.good"};
    dstr out = DSTR_ZERO;
    tmpdir_put("l", "good\nev\0il.example\nalso.good\n", 29);
    ck_assert_int_eq(control_readlist("l", &out), 1);
    expect_list(&out, want, 2);
    dstr_free(&out);
}
END_TEST

START_TEST(readfile_raw)
{
    dstr out = DSTR_ZERO;
    tmpdir_put("f", "a \r\n\0b\n", 7);
    ck_assert_int_eq(control_readfile("f", &out), 1);
    ck_assert_uint_eq(out.len, 7);
    ck_assert_mem_eq(out.s, "a \r\n\0b\n", 7);
    ck_assert_int_eq(control_readfile("missing", &out), 0);
    ck_assert_uint_eq(out.len, 0);
    dstr_free(&out);
}
END_TEST

static Suite *control_suite(void)
{
    Suite *s = suite_create("control");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_add_test(tc, readline_missing_gives_default);
    tcase_add_test(tc, readline_trims);
    tcase_add_test(tc, readline_empty_gives_default);
    tcase_add_test(tc, readline_unreadable);
    tcase_add_test(tc, readline_mode_000);
    tcase_add_test(tc, readfile_too_big);
    tcase_add_test(tc, readulong);
    tcase_add_test(tc, readulong_bad);
    tcase_add_test(tc, readulong_unreadable);
    tcase_add_test(tc, readlist);
    tcase_add_test(tc, readlist_no_final_newline);
    tcase_add_test(tc, readlist_missing_and_empty);
    tcase_add_test(tc, readlist_nul_line);
    tcase_add_test(tc, readfile_raw);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(control_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
