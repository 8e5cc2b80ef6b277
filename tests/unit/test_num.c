/* test_num.c: strict number scanning: no signs, no spaces, overflow. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "num.h"

static void scan_fails(const char *s, size_t len, int err)
{
    unsigned long long v = 12345;
    errno = 0;
    ck_assert_msg(num_scan_ulong(s, len, &v) == -1, "accepted \"%.*s\"",
                  (int)len, s);
    ck_assert_int_eq(errno, err);
    ck_assert_uint_eq(v, 12345); /* output untouched on failure */
}

static void scan_str_fails(const char *s, int err)
{
    unsigned long long v = 12345;
    errno = 0;
    ck_assert_msg(num_scan_ulong_str(s, &v) == -1, "accepted \"%s\"", s);
    ck_assert_int_eq(errno, err);
    ck_assert_uint_eq(v, 12345);
}

START_TEST(scan_good)
{
    unsigned long long v;
    ck_assert_int_eq(num_scan_ulong_str("0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(num_scan_ulong_str("42", &v), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(num_scan_ulong_str("007", &v), 0);
    ck_assert_uint_eq(v, 7);
    ck_assert_int_eq(num_scan_ulong_str("00000000000000000000000000001", &v),
                     0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(num_scan_ulong("12345", 2, &v), 0);
    ck_assert_uint_eq(v, 12);
}
END_TEST

START_TEST(scan_limits)
{
    unsigned long long v;
    ck_assert_int_eq(num_scan_ulong_str("18446744073709551615", &v), 0);
    ck_assert_uint_eq(v, ULLONG_MAX);
    ck_assert_int_eq(num_scan_ulong_str("18446744073709551614", &v), 0);
    ck_assert_uint_eq(v, ULLONG_MAX - 1);
    ck_assert_int_eq(num_scan_ulong_str("1844674407370955161", &v), 0);
    ck_assert_uint_eq(v, ULLONG_MAX / 10);
    scan_str_fails("18446744073709551616", ERANGE);
    scan_str_fails("18446744073709551620", ERANGE);
    scan_str_fails("18446744073709551700", ERANGE);
    scan_str_fails("99999999999999999999", ERANGE);
    scan_str_fails("184467440737095516150", ERANGE);
    scan_str_fails("100000000000000000000000000000000000000000", ERANGE);
}
END_TEST

START_TEST(scan_syntax)
{
    scan_str_fails("", EINVAL);
    scan_fails("123", 0, EINVAL);
    scan_str_fails("+1", EINVAL);
    scan_str_fails("-1", EINVAL);
    scan_str_fails("-0", EINVAL);
    scan_str_fails(" 1", EINVAL);
    scan_str_fails("1 ", EINVAL);
    scan_str_fails("1\n", EINVAL);
    scan_str_fails("0x10", EINVAL);
    scan_str_fails("1e3", EINVAL);
    scan_str_fails("1.0", EINVAL);
    scan_str_fails("abc", EINVAL);
    scan_str_fails("\xd9\xa3", EINVAL); /* ARABIC-INDIC DIGIT THREE */
    scan_fails("1\0" "2", 3, EINVAL); /* embedded NUL */
}
END_TEST

START_TEST(prefix)
{
    unsigned long long v = 99;
    ck_assert_uint_eq(num_scan_prefix("123abc", 6, &v), 3);
    ck_assert_uint_eq(v, 123);
    ck_assert_uint_eq(num_scan_prefix("42 reason", 9, &v), 2);
    ck_assert_uint_eq(v, 42);
    ck_assert_uint_eq(num_scan_prefix("12345", 3, &v), 3);
    ck_assert_uint_eq(v, 123);
    v = 99;
    ck_assert_uint_eq(num_scan_prefix("abc", 3, &v), 0);
    ck_assert_uint_eq(num_scan_prefix("", 0, &v), 0);
    ck_assert_uint_eq(num_scan_prefix("-1", 2, &v), 0);
    ck_assert_uint_eq(num_scan_prefix("18446744073709551616", 20, &v), 0);
    ck_assert_uint_eq(v, 99);
    ck_assert_uint_eq(num_scan_prefix("18446744073709551615x", 21, &v), 20);
    ck_assert_uint_eq(v, ULLONG_MAX);
}
END_TEST

START_TEST(fmt)
{
    char buf[NUM_FMT_ULONG];
    ck_assert_uint_eq(num_fmt_ulong(buf, 0), 1);
    ck_assert_str_eq(buf, "0");
    ck_assert_uint_eq(num_fmt_ulong(buf, 1000), 4);
    ck_assert_str_eq(buf, "1000");
    ck_assert_uint_eq(num_fmt_ulong(buf, ULLONG_MAX), 20);
    ck_assert_str_eq(buf, "18446744073709551615");
}
END_TEST

START_TEST(fmt_scan_round_trip)
{
    static const unsigned long long vals[] = {
        0, 1, 9, 10, 99, 100, 4294967295ULL, 4294967296ULL,
        1000000000000000000ULL, ULLONG_MAX / 10, ULLONG_MAX - 1, ULLONG_MAX};
    size_t i;
    for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[NUM_FMT_ULONG];
        unsigned long long v;
        size_t n = num_fmt_ulong(buf, vals[i]);
        ck_assert_uint_eq(strlen(buf), n);
        ck_assert_int_eq(num_scan_ulong(buf, n, &v), 0);
        ck_assert_uint_eq(v, vals[i]);
    }
}
END_TEST

static Suite *num_suite(void)
{
    Suite *s = suite_create("num");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, scan_good);
    tcase_add_test(tc, scan_limits);
    tcase_add_test(tc, scan_syntax);
    tcase_add_test(tc, prefix);
    tcase_add_test(tc, fmt);
    tcase_add_test(tc, fmt_scan_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(num_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
