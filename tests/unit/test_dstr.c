/* test_dstr.c: growable strings: growth, overflow checks, NUL bytes. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dstr.h"

/* The overflow tests ask for absurd sizes on purpose: under ASan, let
 * malloc fail with NULL (as libc does) instead of aborting. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

START_TEST(zero_is_empty)
{
    dstr d = DSTR_ZERO;
    ck_assert_ptr_null(d.s);
    ck_assert(dstr_equals(&d, ""));
    ck_assert(dstr_starts(&d, ""));
    ck_assert(!dstr_starts(&d, "a"));
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_ptr_nonnull(d.s);
    ck_assert_uint_eq(d.len, 0);
    ck_assert_str_eq(d.s, "");
    dstr_free(&d);
    ck_assert_ptr_null(d.s);
    ck_assert_uint_eq(d.len, 0);
    ck_assert_uint_eq(d.cap, 0);
    dstr_free(&d); /* twice is harmless */
}
END_TEST

START_TEST(cat_and_copy)
{
    dstr d = DSTR_ZERO, e = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&d, "hello"), 0);
    ck_assert_int_eq(dstr_catc(&d, ' '), 0);
    ck_assert_int_eq(dstr_catb(&d, "worldXXX", 5), 0);
    ck_assert(dstr_equals(&d, "hello world"));
    ck_assert(dstr_starts(&d, "hello"));
    ck_assert(!dstr_starts(&d, "hello world!"));
    ck_assert_int_eq(dstr_catb(&d, NULL, 0), 0);
    ck_assert_uint_eq(d.len, 11);
    ck_assert_int_eq(dstr_copys(&e, "old contents"), 0);
    ck_assert_int_eq(dstr_copy(&e, &d), 0);
    ck_assert(dstr_equals(&e, "hello world"));
    ck_assert_int_eq(dstr_copyb(&e, "ab", 2), 0);
    ck_assert(dstr_equals(&e, "ab"));
    ck_assert_int_eq(dstr_cat(&e, &d), 0);
    ck_assert(dstr_equals(&e, "abhello world"));
    ck_assert_int_eq(dstr_copys(&e, ""), 0);
    ck_assert(dstr_equals(&e, ""));
    dstr_free(&d);
    /* copying from an empty, never-allocated dstr */
    ck_assert_int_eq(dstr_copy(&e, &d), 0);
    ck_assert_uint_eq(e.len, 0);
    dstr_free(&e);
}
END_TEST

START_TEST(nul_bytes_inside)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_catb(&d, "a\0b", 3), 0);
    ck_assert_int_eq(dstr_catc(&d, 0), 0);
    ck_assert_int_eq(dstr_cats(&d, "c"), 0);
    ck_assert_uint_eq(d.len, 5);
    ck_assert_mem_eq(d.s, "a\0b\0c", 5);
    /* a C-string comparison must not stop at the embedded NUL */
    ck_assert(!dstr_equals(&d, "a"));
    ck_assert(dstr_starts(&d, "a"));
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_uint_eq(d.len, 5); /* the terminator is not counted */
    ck_assert_int_eq(d.s[5], 0);
    dstr_lower(&d);
    ck_assert_mem_eq(d.s, "a\0b\0c", 5);
    dstr_free(&d);
}
END_TEST

START_TEST(growth_keeps_contents)
{
    dstr d = DSTR_ZERO;
    size_t i;
    for (i = 0; i < 100000; i++)
        ck_assert_int_eq(dstr_catc(&d, (char)('a' + i % 26)), 0);
    ck_assert_uint_eq(d.len, 100000);
    ck_assert_uint_gt(d.cap, d.len); /* one spare byte for dstr_cat0 */
    for (i = 0; i < 100000; i++)
        if (d.s[i] != (char)('a' + i % 26))
            ck_abort_msg("byte %zu changed during growth", i);
    dstr_free(&d);
}
END_TEST

START_TEST(reserve_exact_and_spare)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_reserve(&d, 0), 0);
    ck_assert_uint_ge(d.cap, 1);
    ck_assert_int_eq(dstr_reserve(&d, 1000), 0);
    ck_assert_uint_ge(d.cap, 1001);
    ck_assert_uint_eq(d.len, 0);
    /* filling exactly the reserved room must not need another allocation */
    {
        size_t cap = d.cap;
        char *s = d.s;
        memset(d.s, 'x', cap - 1);
        d.len = cap - 1;
        ck_assert_int_eq(dstr_cat0(&d), 0);
        ck_assert_ptr_eq(d.s, s);
        ck_assert_uint_eq(d.cap, cap);
    }
    dstr_free(&d);
}
END_TEST

START_TEST(reserve_overflow)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&d, "0123456789"), 0);

    errno = 0;
    ck_assert_int_eq(dstr_reserve(&d, SIZE_MAX), -1);
    ck_assert_int_eq(errno, EOVERFLOW);
    errno = 0;
    ck_assert_int_eq(dstr_reserve(&d, SIZE_MAX - 10), -1);
    ck_assert_int_eq(errno, EOVERFLOW);
    /* len + n + 1 == SIZE_MAX exactly: no wrap, but no such memory */
    errno = 0;
    ck_assert_int_eq(dstr_reserve(&d, SIZE_MAX - 11), -1);
    ck_assert(errno == ENOMEM || errno == EOVERFLOW);
    errno = 0;
    ck_assert_int_eq(dstr_reserve(&d, SIZE_MAX / 2 + 1), -1);
    ck_assert(errno == ENOMEM || errno == EOVERFLOW);

    /* catb with a wrapping length fails the same way and changes nothing */
    errno = 0;
    ck_assert_int_eq(dstr_catb(&d, "x", SIZE_MAX), -1);
    ck_assert_int_eq(errno, EOVERFLOW);
    errno = 0;
    ck_assert_int_eq(dstr_catb(&d, "x", SIZE_MAX - 5), -1);
    ck_assert_int_eq(errno, EOVERFLOW);
    ck_assert(dstr_equals(&d, "0123456789"));

    /* still usable afterwards */
    ck_assert_int_eq(dstr_cats(&d, "ab"), 0);
    ck_assert(dstr_equals(&d, "0123456789ab"));
    dstr_free(&d);
}
END_TEST

START_TEST(reserve_overflow_on_empty)
{
    dstr d = DSTR_ZERO;
    errno = 0;
    ck_assert_int_eq(dstr_reserve(&d, SIZE_MAX), -1);
    ck_assert_int_eq(errno, EOVERFLOW);
    ck_assert_ptr_null(d.s);
    ck_assert_uint_eq(d.len, 0);
}
END_TEST

START_TEST(numbers)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_catulong(&d, 0), 0);
    ck_assert_int_eq(dstr_catc(&d, ' '), 0);
    ck_assert_int_eq(dstr_catulong(&d, ULLONG_MAX), 0);
    ck_assert_int_eq(dstr_catc(&d, ' '), 0);
    ck_assert_int_eq(dstr_catlong(&d, LLONG_MIN), 0);
    ck_assert_int_eq(dstr_catc(&d, ' '), 0);
    ck_assert_int_eq(dstr_catlong(&d, LLONG_MAX), 0);
    ck_assert_int_eq(dstr_catc(&d, ' '), 0);
    ck_assert_int_eq(dstr_catlong(&d, -1), 0);
    ck_assert_int_eq(dstr_catc(&d, ' '), 0);
    ck_assert_int_eq(dstr_catlong(&d, 0), 0);
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_str_eq(d.s, "0 18446744073709551615 -9223372036854775808 "
                          "9223372036854775807 -1 0");
    dstr_free(&d);
}
END_TEST

START_TEST(catf_short_and_appending)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&d, "x="), 0);
    ck_assert_int_eq(dstr_catf(&d, "%d/%s/%c", 42, "str", 'c'), 0);
    ck_assert(dstr_equals(&d, "x=42/str/c"));
    ck_assert_int_eq(dstr_catf(&d, "%s", ""), 0);
    ck_assert(dstr_equals(&d, "x=42/str/c"));
    dstr_free(&d);
}
END_TEST

/* Output longer than catf's internal 256-byte buffer goes the second way:
 * check both sides of the boundary and a long result. */
START_TEST(catf_long_output)
{
    static const size_t sizes[] = {254, 255, 256, 257, 1000, 100000};
    size_t k;

    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k], i;
        char *src = malloc(n + 1);
        dstr d = DSTR_ZERO;

        ck_assert_ptr_nonnull(src);
        for (i = 0; i < n; i++)
            src[i] = (char)('A' + i % 23);
        src[n] = 0;
        ck_assert_int_eq(dstr_cats(&d, "<<"), 0);
        ck_assert_int_eq(dstr_catf(&d, "%s|%d", src, 7), 0);
        ck_assert_uint_eq(d.len, 2 + n + 2);
        ck_assert_mem_eq(d.s, "<<", 2);
        ck_assert_mem_eq(d.s + 2, src, n);
        ck_assert_mem_eq(d.s + 2 + n, "|7", 2);
        /* appending after a long catf still works */
        ck_assert_int_eq(dstr_catc(&d, '!'), 0);
        ck_assert_int_eq(d.s[d.len - 1], '!');
        free(src);
        dstr_free(&d);
    }
}
END_TEST

START_TEST(catf_padding_width)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_catf(&d, "%0600d", 5), 0);
    ck_assert_uint_eq(d.len, 600);
    ck_assert_int_eq(d.s[0], '0');
    ck_assert_int_eq(d.s[599], '5');
    dstr_free(&d);
}
END_TEST

/* Appending a dstr to itself: the source moves when the buffer grows. */
START_TEST(cat_self)
{
    dstr d = DSTR_ZERO;
    size_t i;
    ck_assert_int_eq(dstr_cats(&d, "abc"), 0);
    for (i = 0; i < 12; i++)
        ck_assert_int_eq(dstr_cat(&d, &d), 0);
    ck_assert_uint_eq(d.len, 3u << 12);
    for (i = 0; i < d.len; i++)
        if (d.s[i] != "abc"[i % 3])
            ck_abort_msg("byte %zu wrong after self-append", i);
    /* and a suffix of itself, right at a growth step */
    dstr_free(&d);
    ck_assert_int_eq(dstr_reserve(&d, 0), 0);
    memset(d.s, 'q', d.cap - 1);
    d.len = d.cap - 1;
    d.s[0] = 'p';
    ck_assert_int_eq(dstr_catb(&d, d.s, d.len), 0);
    ck_assert_uint_eq(d.len, 2 * (d.len / 2));
    ck_assert_int_eq(d.s[d.len / 2], 'p');
    ck_assert_int_eq(d.s[d.len - 1], 'q');
    dstr_free(&d);
}
END_TEST

/* A catf argument that points into the destination itself. */
START_TEST(catf_self_argument)
{
    dstr d = DSTR_ZERO;
    size_t i;
    for (i = 0; i < 300; i++)
        ck_assert_int_eq(dstr_catc(&d, (char)('a' + i % 26)), 0);
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_int_eq(dstr_catf(&d, "[%s]", d.s), 0);
    ck_assert_uint_eq(d.len, 602);
    ck_assert_mem_eq(d.s, d.s + 301, 300);
    ck_assert_int_eq(d.s[300], '[');
    ck_assert_int_eq(d.s[601], ']');
    dstr_free(&d);
}
END_TEST

START_TEST(lower)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&d, "AbC@Example.ORG[]\xc4\xd6z"), 0);
    dstr_lower(&d);
    ck_assert(dstr_equals(&d, "abc@example.org[]\xc4\xd6z"));
    dstr_free(&d);
    dstr_lower(&d); /* empty, unallocated */
}
END_TEST

START_TEST(equals_and_starts)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&d, "MAIL FROM:"), 0);
    ck_assert(dstr_starts(&d, "MAIL"));
    ck_assert(dstr_starts(&d, "MAIL FROM:"));
    ck_assert(!dstr_starts(&d, "MAIL FROM:<"));
    ck_assert(!dstr_starts(&d, "mail"));
    ck_assert(dstr_equals(&d, "MAIL FROM:"));
    ck_assert(!dstr_equals(&d, "MAIL FROM"));
    ck_assert(!dstr_equals(&d, ""));
    dstr_free(&d);
}
END_TEST

static Suite *dstr_suite(void)
{
    Suite *s = suite_create("dstr");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, zero_is_empty);
    tcase_add_test(tc, cat_and_copy);
    tcase_add_test(tc, nul_bytes_inside);
    tcase_add_test(tc, growth_keeps_contents);
    tcase_add_test(tc, reserve_exact_and_spare);
    tcase_add_test(tc, reserve_overflow);
    tcase_add_test(tc, reserve_overflow_on_empty);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, catf_short_and_appending);
    tcase_add_test(tc, catf_long_output);
    tcase_add_test(tc, catf_padding_width);
    tcase_add_test(tc, cat_self);
    tcase_add_test(tc, catf_self_argument);
    tcase_add_test(tc, lower);
    tcase_add_test(tc, equals_and_starts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dstr_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
