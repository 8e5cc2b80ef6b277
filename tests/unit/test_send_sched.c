// modules: src/send
/* Unit tests: qmail-send's job FIFO, retry heap and back-off schedule. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "send_sched.h"

START_TEST(fifo_order_and_growth)
{
    struct send_fifo f = {0};
    struct send_job j;
    size_t i, n = 0;

    /* interleave pushes and pops so the ring wraps while it grows */
    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(send_fifo_push(&f, 0, i), 0);
        if (i % 3 == 0) {
            ck_assert_int_eq(send_fifo_pop(&f, &j), 1);
            ck_assert_uint_eq(j.rcpt, n);
            n++;
        }
    }
    while (send_fifo_pop(&f, &j)) {
        ck_assert_uint_eq(j.rcpt, n);
        n++;
    }
    ck_assert_uint_eq(n, 1000);
    ck_assert_int_eq(send_fifo_pop(&f, &j), 0);
    free(f.v);
}
END_TEST

START_TEST(heap_pops_in_time_order)
{
    struct send_heap h = {0};
    struct send_job j;
    int64_t last = -1;
    size_t i;

    ck_assert_ptr_null(send_heap_top(&h));
    for (i = 0; i < 5000; i++)
        ck_assert_int_eq(
            send_heap_push(&h, 0, i, (int64_t)((i * 7919) % 5003)), 0);
    for (i = 0; i < 5000; i++) {
        ck_assert_int_eq(send_heap_pop(&h, &j), 1);
        ck_assert_int_ge(j.when, last);
        last = j.when;
    }
    ck_assert_int_eq(send_heap_pop(&h, &j), 0);
    free(h.v);
}
END_TEST

START_TEST(next_try_schedule)
{
    /* qmail's schedule: birth + (skip*k)^2 */
    ck_assert_int_eq(send_next_try(1000, 1000, 10), 1100);
    ck_assert_int_eq(send_next_try(1000, 1099, 10), 1100);
    ck_assert_int_eq(send_next_try(1000, 1100, 10), 1400);
    ck_assert_int_eq(send_next_try(1000, 1000 + 90000, 10), 1000 + 90000 + 0 + 6100);
    /* always strictly in the future, even years later */
    ck_assert_int_gt(send_next_try(0, 400000000, 20), 400000000);
    /* a clock that went backwards */
    ck_assert_int_eq(send_next_try(5000, 10, 20), 5400);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("send_sched");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, fifo_order_and_growth);
    tcase_add_test(tc, heap_pops_in_time_order);
    tcase_add_test(tc, next_try_schedule);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
