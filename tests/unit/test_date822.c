/* test_date822.c: RFC 5322 dates, always UTC, locale-free. */
#include <check.h>
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date822.h"

static void expect_date(time_t t, const char *want)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(date822_cat(&d, t), 0);
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_str_eq(d.s, want);
    dstr_free(&d);
}

START_TEST(known_dates)
{
    expect_date(0, "Thu, 01 Jan 1970 00:00:00 +0000");
    expect_date(-1, "Wed, 31 Dec 1969 23:59:59 +0000");
    expect_date(951782400, "Tue, 29 Feb 2000 00:00:00 +0000");
    expect_date(1709211662, "Thu, 29 Feb 2024 13:01:02 +0000");
    expect_date(1796485789, "Sat, 05 Dec 2026 15:49:49 +0000");
}
END_TEST

/* Always UTC and English, whatever TZ and the locale say. */
START_TEST(ignores_tz_and_locale)
{
    ck_assert_int_eq(setenv("TZ", "America/New_York", 1), 0);
    tzset();
    setlocale(LC_ALL, "");
    expect_date(1796485789, "Sat, 05 Dec 2026 15:49:49 +0000");
}
END_TEST

START_TEST(appends)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&d, "Date: "), 0);
    ck_assert_int_eq(date822_cat(&d, 0), 0);
    ck_assert(dstr_equals(&d, "Date: Thu, 01 Jan 1970 00:00:00 +0000"));
    dstr_free(&d);
}
END_TEST

/* A time far in the future (a bogus clock or a value read from a file)
 * must not overflow the year arithmetic, and a year RFC 5322 cannot write
 * (not 4 digits) is refused rather than printed as a bad header. */
START_TEST(extreme_times)
{
    static const time_t ts[] = {(time_t)67768036191676799LL,
                                (time_t)67768036191676800LL,
                                (time_t)-67768040609740800LL,
                                (time_t)INT64_MAX, (time_t)INT64_MIN};
    size_t i;
    for (i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        dstr d = DSTR_ZERO;
        errno = 0;
        ck_assert_int_eq(date822_cat(&d, ts[i]), -1);
        ck_assert_int_ne(errno, 0);
        ck_assert_uint_eq(d.len, 0);
        dstr_free(&d);
    }
    expect_date((time_t)253402300799LL, "Fri, 31 Dec 9999 23:59:59 +0000");
    {
        dstr d = DSTR_ZERO;
        errno = 0;
        ck_assert_int_eq(date822_cat(&d, (time_t)253402300800LL), -1);
        ck_assert_int_eq(errno, EOVERFLOW);
        dstr_free(&d);
    }
    expect_date((time_t)-62167219200LL, "Sat, 01 Jan 0000 00:00:00 +0000");
}
END_TEST

static Suite *date822_suite(void)
{
    Suite *s = suite_create("date822");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, known_dates);
    tcase_add_test(tc, ignores_tz_and_locale);
    tcase_add_test(tc, appends);
    tcase_add_test(tc, extreme_times);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(date822_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
