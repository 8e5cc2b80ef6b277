// modules: src/remote
/* Unit tests: qmail-remote's memory of dead hosts (remote_tcpto). */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote_ip.h"
#include "remote_tcpto.h"
#include "unit_tmpdir.h"

#define PATH "tcpto"

static remote_ip ip4(unsigned char a, unsigned char b)
{
    remote_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.family = AF_INET;
    ip.addr[0] = 192;
    ip.addr[1] = 0;
    ip.addr[2] = a;
    ip.addr[3] = b;
    return ip;
}

START_TEST(backoff_grows_and_stops)
{
    ck_assert_int_eq(remote_tcpto_backoff(0), 0);
    ck_assert_int_eq(remote_tcpto_backoff(1), REMOTE_TCPTO_BASE);
    ck_assert_int_eq(remote_tcpto_backoff(2), 2 * REMOTE_TCPTO_BASE);
    ck_assert_int_eq(remote_tcpto_backoff(3), 4 * REMOTE_TCPTO_BASE);
    ck_assert_int_eq(remote_tcpto_backoff(30), REMOTE_TCPTO_MAX);
    ck_assert_int_eq(remote_tcpto_backoff(255), REMOTE_TCPTO_MAX);
}
END_TEST

START_TEST(missing_file_skips_nothing)
{
    remote_ip a = ip4(2, 1);

    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, 1000, 0), 0);
    remote_tcpto_ok(PATH, &a); /* does not create it */
    ck_assert_int_eq(access(PATH, F_OK), -1);
    /* nor does a directory we cannot write */
    ck_assert_int_eq(remote_tcpto_dead("no/such/dir/tcpto", &a, 1000, 0), 0);
    remote_tcpto_failed("no/such/dir/tcpto", &a, 1000);
}
END_TEST

START_TEST(failure_pause_and_success)
{
    remote_ip a = ip4(2, 1), b = ip4(2, 2), a6;
    int64_t t0 = 1700000000, until = 0;

    memset(&a6, 0, sizeof a6);
    a6.family = AF_INET6;
    memcpy(a6.addr, a.addr, 4); /* same bytes, other family */

    remote_tcpto_failed(PATH, &a, t0);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0 + 1, &until), 1);
    ck_assert_int_eq(until, t0 + REMOTE_TCPTO_BASE);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &b, t0 + 1, 0), 0);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a6, t0 + 1, 0), 0);
    /* the pause ends */
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0 + REMOTE_TCPTO_BASE, 0), 0);
    /* a second failure after it: twice as long */
    remote_tcpto_failed(PATH, &a, t0 + 200);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0 + 200, &until), 1);
    ck_assert_int_eq(until, t0 + 200 + 2 * REMOTE_TCPTO_BASE);
    /* failures during the pause (deliveries that started before it) do
     * not make it longer */
    remote_tcpto_failed(PATH, &a, t0 + 210);
    remote_tcpto_failed(PATH, &a, t0 + 220);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0 + 221, &until), 1);
    ck_assert_int_eq(until, t0 + 200 + 2 * REMOTE_TCPTO_BASE);
    /* a success forgets it */
    remote_tcpto_ok(PATH, &a);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0 + 221, 0), 0);
    remote_tcpto_failed(PATH, &a, t0 + 230);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0 + 231, &until), 1);
    ck_assert_int_eq(until, t0 + 230 + REMOTE_TCPTO_BASE);
    /* a clock that went back does not keep a host out */
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0, 0), 0);
    /* a failure long after the last one starts the count again */
    remote_tcpto_failed(PATH, &a, t0 + 100000);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, t0 + 100001, &until), 1);
    ck_assert_int_eq(until, t0 + 100000 + REMOTE_TCPTO_BASE);
}
END_TEST

START_TEST(file_stays_small)
{
    struct stat st;
    unsigned i;
    int64_t t0 = 1700000000;
    remote_ip first = ip4(0, 0), last = ip4(0, 199);

    for (i = 0; i < 200; i++) {
        remote_ip ip = ip4(0, (unsigned char)i);
        remote_tcpto_failed(PATH, &ip, t0 + i);
    }
    ck_assert_int_eq(stat(PATH, &st), 0);
    ck_assert_int_eq(st.st_size, REMOTE_TCPTO_SLOTS * REMOTE_TCPTO_RECORD);
    /* the oldest records made room for the newest */
    ck_assert_int_eq(remote_tcpto_dead(PATH, &first, t0 + 200, 0), 0);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &last, t0 + 200, 0), 1);
}
END_TEST

START_TEST(damaged_file_is_harmless)
{
    unsigned char junk[REMOTE_TCPTO_SLOTS * REMOTE_TCPTO_RECORD + 100];
    remote_ip a = ip4(2, 1);
    size_t i;
    int fd;

    for (i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    fd = open(PATH, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, 1700000000, 0), 0);
    remote_tcpto_failed(PATH, &a, 1700000000);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, 1700000001, 0), 1);
    /* a short file */
    ck_assert_int_eq(truncate(PATH, 10), 0);
    ck_assert_int_eq(remote_tcpto_dead(PATH, &a, 1700000001, 0), 0);
    /* a symbolic link is not followed */
    ck_assert_int_eq(unlink(PATH), 0);
    ck_assert_int_eq(symlink("elsewhere", PATH), 0);
    remote_tcpto_failed(PATH, &a, 1700000000);
    ck_assert_int_eq(access("elsewhere", F_OK), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("remote_tcpto");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_add_test(tc, backoff_grows_and_stops);
    tcase_add_test(tc, missing_file_skips_nothing);
    tcase_add_test(tc, failure_pause_and_success);
    tcase_add_test(tc, file_stays_small);
    tcase_add_test(tc, damaged_file_is_harmless);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
