/* test_queue.c: queue layout helpers and the message file parser. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "unit_tmpdir.h"

/* ---- header ---------------------------------------------------------- */

START_TEST(hdr_format_exact)
{
    char hdr[QUEUE_HDR_LEN];
    queue_hdr_format(hdr, 123, 1733327389);
    ck_assert_mem_eq(hdr, "#qmq1 00000000000000000123 00000000001733327389\n",
                     QUEUE_HDR_LEN);
}
END_TEST

START_TEST(hdr_round_trip)
{
    static const uint64_t vals[] = {0, 1, 999, 1733327389, UINT32_MAX,
                                    (uint64_t)UINT32_MAX + 1, UINT64_MAX - 1,
                                    UINT64_MAX};
    size_t i, j;
    for (i = 0; i < sizeof vals / sizeof vals[0]; i++)
        for (j = 0; j < sizeof vals / sizeof vals[0]; j++) {
            char hdr[QUEUE_HDR_LEN];
            uint64_t len = 7, birth = 7;
            queue_hdr_format(hdr, vals[i], vals[j]);
            ck_assert_int_eq(queue_hdr_parse(hdr, sizeof hdr, &len, &birth),
                             0);
            ck_assert_uint_eq(len, vals[i]);
            ck_assert_uint_eq(birth, vals[j]);
        }
}
END_TEST

static void hdr_rejected(const char *hdr, size_t len)
{
    uint64_t a = 5, b = 6;
    errno = 0;
    ck_assert_msg(queue_hdr_parse(hdr, len, &a, &b) == -1, "accepted %.*s",
                  (int)len, hdr);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(a, 5);
    ck_assert_uint_eq(b, 6);
}

START_TEST(hdr_rejections)
{
    static const char good[] =
        "#qmq1 00000000000000000123 00000000001733327389\n";
    char h[QUEUE_HDR_LEN];
    uint64_t a, b;
    size_t i;

    ck_assert_int_eq(queue_hdr_parse(good, QUEUE_HDR_LEN, &a, &b), 0);
    hdr_rejected(good, QUEUE_HDR_LEN - 1); /* short */
    hdr_rejected(good, 0);
    hdr_rejected("#qmq2 00000000000000000123 00000000001733327389\n", 48);
    hdr_rejected("#QMQ1 00000000000000000123 00000000001733327389\n", 48);
    hdr_rejected("qmq1  00000000000000000123 00000000001733327389\n", 48);
    hdr_rejected("#qmq1 00000000000000000123_00000000001733327389\n", 48);
    hdr_rejected("#qmq1 00000000000000000123 00000000001733327389 ", 48);
    hdr_rejected("#qmq1 0000000000000000012x 00000000001733327389\n", 48);
    hdr_rejected("#qmq1 +0000000000000000123 00000000001733327389\n", 48);
    hdr_rejected("#qmq1 -0000000000000000123 00000000001733327389\n", 48);
    hdr_rejected("#qmq1                  123 00000000001733327389\n", 48);
    hdr_rejected("#qmq1 00000000000000000123 0000000000173332738 \n", 48);
    hdr_rejected("#qmq1 18446744073709551616 00000000001733327389\n", 48);
    hdr_rejected("#qmq1 99999999999999999999 00000000001733327389\n", 48);
    hdr_rejected("#qmq1 00000000000000000123 18446744073709551616\n", 48);
    /* every single byte changed to a NUL is refused */
    for (i = 0; i < QUEUE_HDR_LEN; i++) {
        memcpy(h, good, QUEUE_HDR_LEN);
        h[i] = 0;
        hdr_rejected(h, QUEUE_HDR_LEN);
    }
}
END_TEST

/* ---- ids and buckets --------------------------------------------------- */

START_TEST(bucket_range_and_stable)
{
    char id[QUEUE_ID_MAX + 1];
    int seen[QUEUE_BUCKETS] = {0};
    unsigned i, b;

    for (i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "%u.%06u.%u", 1733327389u + i / 7,
                 (i * 7919u) % 1000000u, 1000u + i);
        b = queue_bucket(id);
        ck_assert_uint_lt(b, QUEUE_BUCKETS);
        ck_assert_uint_eq(queue_bucket(id), b);
        seen[b]++;
    }
    for (i = 0; i < QUEUE_BUCKETS; i++)
        ck_assert_msg(seen[i] > 100, "bucket %u got only %d of 20000", i,
                      seen[i]);
    ck_assert_uint_lt(queue_bucket(""), QUEUE_BUCKETS);
    ck_assert_uint_lt(queue_bucket("\xff\xfe"), QUEUE_BUCKETS);
}
END_TEST

/* The bucket is part of the on-disk layout: a queue written by one build
 * must be found by the next.  These values are pinned (FNV-1a mod 64). */
START_TEST(bucket_pinned)
{
    ck_assert_uint_eq(queue_bucket("1733327389.123456.4242"), 46);
    ck_assert_uint_eq(queue_bucket("1.0.1"), 63);
    ck_assert_uint_eq(queue_bucket("0"), 47);
    ck_assert_uint_eq(queue_bucket("17333273890.999999.2147483647"), 35);
}
END_TEST

START_TEST(mess_path)
{
    dstr p = DSTR_ZERO;
    ck_assert_int_eq(dstr_cats(&p, "old"), 0);
    ck_assert_int_eq(queue_mess_path(&p, "1733327389.123456.4242"), 0);
    ck_assert_str_eq(p.s, "mess/46/1733327389.123456.4242");
    ck_assert_uint_eq(p.len, strlen(p.s));
    ck_assert_int_eq(queue_mess_path(&p, "0"), 0);
    ck_assert_str_eq(p.s, "mess/47/0");
    dstr_free(&p);
}
END_TEST

START_TEST(id_valid)
{
    char id[QUEUE_ID_MAX + 2];
    ck_assert(queue_id_valid("1733327389.123456.4242"));
    ck_assert(queue_id_valid("1"));
    ck_assert(!queue_id_valid(""));
    ck_assert(!queue_id_valid("."));
    ck_assert(!queue_id_valid(".."));
    ck_assert(!queue_id_valid(".1"));
    ck_assert(!queue_id_valid("../1"));
    ck_assert(!queue_id_valid("1/2"));
    ck_assert(!queue_id_valid("/1"));
    ck_assert(!queue_id_valid("1 2"));
    ck_assert(!queue_id_valid("1\n"));
    ck_assert(!queue_id_valid("-1"));
    ck_assert(!queue_id_valid("+1"));
    ck_assert(!queue_id_valid("1a"));
    ck_assert(!queue_id_valid("1.tmp"));
    ck_assert(!queue_id_valid("\xd9\xa1"));
    memset(id, '7', QUEUE_ID_MAX);
    id[QUEUE_ID_MAX] = 0;
    ck_assert(queue_id_valid(id));
    id[QUEUE_ID_MAX] = '7';
    id[QUEUE_ID_MAX + 1] = 0;
    ck_assert(!queue_id_valid(id));
}
END_TEST

START_TEST(exit_text)
{
    ck_assert_str_eq(queue_exit_text(QQ_OK), "ok");
    ck_assert_str_eq(queue_exit_text(QQ_ENVELOPE), "envelope format error");
    ck_assert_str_eq(queue_exit_text(QQ_TIMEOUT), "timeout");
    ck_assert_str_eq(queue_exit_text(33), "permanent error");
    ck_assert_str_eq(queue_exit_text(12), "permanent error");
    ck_assert_str_eq(queue_exit_text(99), "temporary error");
    ck_assert_str_eq(queue_exit_text(-1), "temporary error");
}
END_TEST

/* ---- message files ------------------------------------------------------ */

/* Write header + message + envelope to "msg" and open it for reading. */
static int message_file(const char *hdr, const char *msg, size_t msglen,
                        const char *env, size_t envlen)
{
    int fd = open("msg", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ne(fd, -1);
    if (hdr)
        ck_assert_int_eq(write(fd, hdr, strlen(hdr)), (ssize_t)strlen(hdr));
    ck_assert_int_eq(write(fd, msg, msglen), (ssize_t)msglen);
    ck_assert_int_eq(write(fd, env, envlen), (ssize_t)envlen);
    return fd;
}

/* A well-formed file: header for msglen, then the envelope. */
static int good_file(const char *msg, const char *env, size_t envlen)
{
    char hdr[QUEUE_HDR_LEN + 1];
    queue_hdr_format(hdr, strlen(msg), 1733327389);
    hdr[QUEUE_HDR_LEN] = 0;
    return message_file(hdr, msg, strlen(msg), env, envlen);
}

#define ENV(lit) lit, sizeof(lit) - 1

static void env_rejected(int fd)
{
    queue_env e;
    errno = 0;
    ck_assert_int_eq(queue_env_read(fd, &e), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(e.rcpts);
    ck_assert_ptr_null(e.raw.s);
    close(fd);
}

START_TEST(env_good)
{
    static const char msg[] = "Received: from x\nSubject: hi\n\nbody\n";
    queue_env e;
    char tag;
    int fd = good_file(msg, ENV("Fa@b.example\0Tc@d.example\0De@f.example\0"
                                "Bg@h.example\0X2 mailbox is full\0"));
    ck_assert_int_eq(queue_env_read(fd, &e), 0);
    ck_assert_uint_eq(e.msglen, strlen(msg));
    ck_assert_uint_eq(e.birth, 1733327389);
    ck_assert_str_eq(e.sender, "a@b.example");
    ck_assert_uint_eq(e.nrcpts, 3);
    ck_assert_str_eq(e.rcpts[0].addr, "c@d.example");
    ck_assert_int_eq(e.rcpts[0].state, 'T');
    ck_assert_ptr_null(e.rcpts[0].reason);
    ck_assert_str_eq(e.rcpts[1].addr, "e@f.example");
    ck_assert_int_eq(e.rcpts[1].state, 'D');
    ck_assert_ptr_null(e.rcpts[1].reason);
    ck_assert_str_eq(e.rcpts[2].addr, "g@h.example");
    ck_assert_int_eq(e.rcpts[2].state, 'B');
    ck_assert_str_eq(e.rcpts[2].reason, "mailbox is full");
    /* each offset is the file offset of the record's tag byte */
    ck_assert_uint_eq(e.rcpts[0].offset, QUEUE_HDR_LEN + strlen(msg) + 13);
    ck_assert_int_eq(pread(fd, &tag, 1, (off_t)e.rcpts[0].offset), 1);
    ck_assert_int_eq(tag, 'T');
    ck_assert_int_eq(pread(fd, &tag, 1, (off_t)e.rcpts[2].offset), 1);
    ck_assert_int_eq(tag, 'B');
    queue_env_free(&e);
    ck_assert_ptr_null(e.rcpts);
    queue_env_free(&e); /* twice is harmless */

    /* the one-byte state change qmail-send makes, then read again */
    ck_assert_int_eq(pwrite(fd, "D", 1, (off_t)QUEUE_HDR_LEN + strlen(msg) +
                                            13), 1);
    ck_assert_int_eq(queue_env_read(fd, &e), 0);
    ck_assert_int_eq(e.rcpts[0].state, 'D');
    queue_env_free(&e);
    close(fd);
}
END_TEST

START_TEST(env_bounce_sender_and_no_rcpts)
{
    queue_env e;
    int fd = good_file("", ENV("F\0Tpostmaster@example.org\0"));
    ck_assert_int_eq(queue_env_read(fd, &e), 0);
    ck_assert_str_eq(e.sender, "");
    ck_assert_uint_eq(e.msglen, 0);
    ck_assert_uint_eq(e.nrcpts, 1);
    queue_env_free(&e);
    close(fd);
    fd = good_file("m", ENV("Fs@x\0"));
    ck_assert_int_eq(queue_env_read(fd, &e), 0);
    ck_assert_uint_eq(e.nrcpts, 0);
    queue_env_free(&e);
    close(fd);
}
END_TEST

/* X records for several recipients, a later X replacing an earlier one,
 * and the message body containing envelope-like bytes. */
START_TEST(env_x_records)
{
    queue_env e;
    int fd = good_file("F\0Tnot-a-record\0", ENV("Fs\0Ta\0Tb\0X0 first\0"
                                                  "X1 \0X0 second\0Bc\0"
                                                  "X2 550 no such user\0"));
    ck_assert_int_eq(queue_env_read(fd, &e), 0);
    ck_assert_uint_eq(e.nrcpts, 3);
    ck_assert_str_eq(e.rcpts[0].reason, "second");
    ck_assert_str_eq(e.rcpts[1].reason, "");
    ck_assert_str_eq(e.rcpts[2].reason, "550 no such user");
    queue_env_free(&e);
    close(fd);
}
END_TEST

START_TEST(env_many_rcpts)
{
    dstr env = DSTR_ZERO;
    queue_env e;
    int fd, i;
    ck_assert_int_eq(dstr_catb(&env, "Fs\0", 3), 0);
    for (i = 0; i < 5000; i++) {
        ck_assert_int_eq(dstr_catf(&env, "T%d@example.org", i), 0);
        ck_assert_int_eq(dstr_catc(&env, 0), 0);
    }
    ck_assert_int_eq(dstr_catb(&env, "X4999 last\0", 11), 0);
    fd = good_file("body", env.s, env.len);
    ck_assert_int_eq(queue_env_read(fd, &e), 0);
    ck_assert_uint_eq(e.nrcpts, 5000);
    ck_assert_str_eq(e.rcpts[4321].addr, "4321@example.org");
    ck_assert_str_eq(e.rcpts[4999].reason, "last");
    queue_env_free(&e);
    dstr_free(&env);
    close(fd);
}
END_TEST

START_TEST(env_bad_magic)
{
    env_rejected(message_file("#qmq2 00000000000000000001 00000000001733327389\n",
                              "m", 1, ENV("Fs\0Tr\0")));
    env_rejected(message_file("From MAILER-DAEMON Thu Dec  4 15:49:49 2026\n",
                              "m", 1, ENV("Fs\0Tr\0")));
}
END_TEST

START_TEST(env_truncated)
{
    /* shorter than a header */
    env_rejected(message_file("#qmq1 0000000000", "", 0, "", 0));
    /* empty file */
    env_rejected(message_file(NULL, "", 0, "", 0));
    /* header promises more message than there is */
    env_rejected(message_file("#qmq1 00000000000000001000 00000000001733327389\n",
                              "short", 5, ENV("Fs\0Tr\0")));
    /* message complete, no envelope at all */
    env_rejected(good_file("complete message", "", 0));
}
END_TEST

/* A length near 2^64 must not wrap the envelope offset back into the
 * header or the message. */
START_TEST(env_length_wraps)
{
    char hdr[QUEUE_HDR_LEN + 1];
    queue_hdr_format(hdr, UINT64_MAX - QUEUE_HDR_LEN + 1, 1);
    hdr[QUEUE_HDR_LEN] = 0;
    env_rejected(message_file(hdr, "", 0, ENV("Fs\0Tr\0")));
    queue_hdr_format(hdr, UINT64_MAX - 20, 1);
    hdr[QUEUE_HDR_LEN] = 0;
    env_rejected(message_file(hdr, "", 0, ENV("Fs\0Tr\0")));
    queue_hdr_format(hdr, UINT64_MAX, 1);
    hdr[QUEUE_HDR_LEN] = 0;
    env_rejected(message_file(hdr, "", 0, ENV("Fs\0Tr\0")));
}
END_TEST

START_TEST(env_not_nul_terminated)
{
    env_rejected(good_file("m", ENV("Fs\0Tr")));
    env_rejected(good_file("m", ENV("Fs")));
}
END_TEST

/* A crash while qmail-clean appended a failure reason leaves a torn last
 * X record: it is advisory, so it is dropped and the rest still reads. */
START_TEST(env_torn_x_record_ignored)
{
    queue_env e;
    int fd = good_file("m", ENV("Fs\0Br\0X0 rea"));

    ck_assert_int_eq(queue_env_read(fd, &e), 0);
    ck_assert_uint_eq(e.nrcpts, 1);
    ck_assert_int_eq(e.rcpts[0].state, 'B');
    ck_assert_ptr_null(e.rcpts[0].reason);
    queue_env_free(&e);
    close(fd);
    /* a torn record of any other kind is still an error */
    env_rejected(good_file("m", ENV("Fs\0Br\0Tq")));
}
END_TEST

START_TEST(env_missing_f_first)
{
    env_rejected(good_file("m", ENV("Tr\0Fs\0")));
    env_rejected(good_file("m", ENV("Tr\0")));
    env_rejected(good_file("m", ENV("\0Fs\0Tr\0")));
    env_rejected(good_file("m", ENV("fs\0Tr\0")));
    /* F exactly once */
    env_rejected(good_file("m", ENV("Fs\0Tr\0Fother\0")));
}
END_TEST

START_TEST(env_x_out_of_range)
{
    env_rejected(good_file("m", ENV("Fs\0Ta\0Tb\0X2 no such\0")));
    env_rejected(good_file("m", ENV("Fs\0X0 before any rcpt\0Ta\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0X18446744073709551615 r\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0X18446744073709551616 r\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0X99999999999999999999999 r\0")));
}
END_TEST

START_TEST(env_x_malformed)
{
    env_rejected(good_file("m", ENV("Fs\0Ta\0X\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0X0\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0X0reason\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0X reason\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0X-0 reason\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0Xa reason\0")));
}
END_TEST

START_TEST(env_unknown_tag)
{
    env_rejected(good_file("m", ENV("Fs\0Ta\0Zjunk\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0t lower case\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0\0")));        /* empty record */
    env_rejected(good_file("m", ENV("Fs\0\0Ta\0")));
    env_rejected(good_file("m", ENV("Fs\0Ta\0\xffx\0")));
}
END_TEST

START_TEST(env_bad_fd)
{
    queue_env e;
    int fd = good_file("m", ENV("Fs\0Ta\0"));
    close(fd);
    errno = 0;
    ck_assert_int_eq(queue_env_read(fd, &e), -1);
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *th = tcase_create("header");
    TCase *ti = tcase_create("ids");
    TCase *te = tcase_create("envelope");
    tcase_add_test(th, hdr_format_exact);
    tcase_add_test(th, hdr_round_trip);
    tcase_add_test(th, hdr_rejections);
    tcase_add_test(ti, bucket_range_and_stable);
    tcase_add_test(ti, bucket_pinned);
    tcase_add_test(ti, mess_path);
    tcase_add_test(ti, id_valid);
    tcase_add_test(ti, exit_text);
    tcase_add_checked_fixture(te, tmpdir_enter, tmpdir_leave);
    tcase_add_test(te, env_good);
    tcase_add_test(te, env_bounce_sender_and_no_rcpts);
    tcase_add_test(te, env_x_records);
    tcase_add_test(te, env_many_rcpts);
    tcase_add_test(te, env_bad_magic);
    tcase_add_test(te, env_truncated);
    tcase_add_test(te, env_length_wraps);
    tcase_add_test(te, env_not_nul_terminated);
    tcase_add_test(te, env_torn_x_record_ignored);
    tcase_add_test(te, env_missing_f_first);
    tcase_add_test(te, env_x_out_of_range);
    tcase_add_test(te, env_x_malformed);
    tcase_add_test(te, env_unknown_tag);
    tcase_add_test(te, env_bad_fd);
    suite_add_tcase(s, th);
    suite_add_tcase(s, ti);
    suite_add_tcase(s, te);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(queue_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
