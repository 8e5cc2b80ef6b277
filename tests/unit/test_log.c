/* test_log.c: one-line log records: format, sanitising, errno, exits. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Point fd 2 at a fresh pipe; returns its read end (non-blocking). */
static int capture_stderr(void)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    ck_assert_int_eq(dup2(p[1], 2), 2);
    close(p[1]);
    return p[0];
}

/* Everything written so far (fd 2 stays open: read what is there). */
static size_t captured(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    return n;
}

/* The record must be "TIMESTAMP PROG: MESSAGE\n": one line, one '\n'. */
static void expect_record(const char *rec, size_t n, const char *prog,
                          const char *msg)
{
    static const char *const pat =
        "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
        "\\.[0-9]{3}Z ";
    regex_t re;
    size_t tslen = 25; /* "2026-12-04T15:49:49.123Z " */
    size_t plen = strlen(prog), mlen = strlen(msg);

    ck_assert_int_eq(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg(regexec(&re, rec, 0, NULL, 0) == 0, "bad timestamp: %s",
                  rec);
    regfree(&re);
    ck_assert_uint_eq(n, tslen + plen + 2 + mlen + 1);
    ck_assert_mem_eq(rec + tslen, prog, plen);
    ck_assert_mem_eq(rec + tslen + plen, ": ", 2);
    ck_assert_mem_eq(rec + tslen + plen + 2, msg, mlen);
    ck_assert_int_eq(rec[n - 1], '\n');
    ck_assert_ptr_eq(memchr(rec, '\n', n), rec + n - 1);
}

START_TEST(format)
{
    char out[4096];
    size_t n;
    int fd = capture_stderr();
    log_init("/var/qmail/bin/qmail-send");
    ck_assert_str_eq(log_progname(), "qmail-send");
    log_line("delivery %d: %s", 12, "success");
    n = captured(fd, out, sizeof out);
    expect_record(out, n, "qmail-send", "delivery 12: success");
    close(fd);
}
END_TEST

START_TEST(progname_plain)
{
    char out[4096];
    size_t n;
    int fd = capture_stderr();
    log_init("qmail-queue");
    log_line("x");
    n = captured(fd, out, sizeof out);
    expect_record(out, n, "qmail-queue", "x");
    close(fd);
}
END_TEST

/* Data from the network must not split or forge a record. */
START_TEST(control_characters)
{
    char out[4096];
    size_t n;
    int fd = capture_stderr();
    log_init("qmail-smtpd");
    log_line("rcpt %s", "a\nFAKE qmail-send: ok\r\x01\x1b[31m\x7f\tend");
    n = captured(fd, out, sizeof out);
    expect_record(out, n, "qmail-smtpd",
                  "rcpt a?FAKE qmail-send: ok???[31m??end");
    close(fd);
}
END_TEST

/* The header promises printable ASCII only: bytes >= 0x80 (including the
 * C1 controls such as NEL 0x85 and a stray UTF-8 line separator) too. */
START_TEST(high_bytes)
{
    char out[4096];
    size_t n;
    int fd = capture_stderr();
    log_init("p");
    log_line("%s", "a\x85" "b\xe2\x80\xa8" "c\xff");
    n = captured(fd, out, sizeof out);
    expect_record(out, n, "p", "a?b???c?");
    close(fd);
}
END_TEST

START_TEST(errno_text_and_kept)
{
    char out[4096];
    size_t n;
    int fd = capture_stderr();
    log_init("p");
    errno = ENOENT;
    log_errno("unable to open %s", "control/me");
    ck_assert_int_eq(errno, ENOENT);
    n = captured(fd, out, sizeof out);
    expect_record(out, n, "p",
                  "unable to open control/me: No such file or directory");
    errno = EACCES;
    log_line("plain");
    ck_assert_int_eq(errno, EACCES);
    close(fd);
}
END_TEST

START_TEST(long_message_truncated)
{
    static char big[10000], out[16384];
    size_t n;
    int fd = capture_stderr();
    memset(big, 'x', sizeof big - 1);
    big[4000] = '\n'; /* a newline past the cut must not matter either */
    log_init("p");
    log_errno("%s", big);
    n = captured(fd, out, sizeof out);
    ck_assert_uint_gt(n, 1000);
    ck_assert_uint_le(n, 2048);
    ck_assert_int_eq(out[n - 1], '\n');
    ck_assert_ptr_eq(memchr(out, '\n', n), out + n - 1);
    close(fd);
}
END_TEST

/* argv[0] is whatever the caller chose: a long one must not overflow the
 * line buffer, and a newline in it must not split the record. */
START_TEST(long_progname)
{
    static char name[5000], out[16384];
    size_t n;
    int fd = capture_stderr();
    memset(name, 'n', sizeof name - 1);
    log_init(name);
    log_line("message %s", "text");
    n = captured(fd, out, sizeof out);
    ck_assert_uint_gt(n, 100);
    ck_assert_uint_le(n, 2048);
    ck_assert_int_eq(out[n - 1], '\n');
    ck_assert_ptr_eq(memchr(out, '\n', n), out + n - 1);
    close(fd);
}
END_TEST

START_TEST(progname_newline)
{
    static char name[] = "./evil\nFAKE";
    char out[4096];
    size_t n;
    int fd = capture_stderr();
    log_init(name);
    log_line("m");
    n = captured(fd, out, sizeof out);
    expect_record(out, n, "evil?FAKE", "m");
    close(fd);
}
END_TEST

/* Two records, two lines, each written whole. */
START_TEST(two_records)
{
    char out[4096];
    size_t n;
    char *nl;
    int fd = capture_stderr();
    log_init("p");
    log_line("first");
    log_line("second");
    n = captured(fd, out, sizeof out);
    nl = memchr(out, '\n', n);
    ck_assert_ptr_nonnull(nl);
    expect_record(out, (size_t)(nl + 1 - out), "p", "first");
    expect_record(nl + 1, n - (size_t)(nl + 1 - out), "p", "second");
    close(fd);
}
END_TEST

static void run_die(int with_errno, int *status, char *out, size_t cap)
{
    int p[2];
    pid_t pid;
    size_t n = 0;
    ssize_t r;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        log_init("qmail-queue");
        errno = ENOSPC;
        if (with_errno)
            log_die_errno(53, "unable to write %s", "mess");
        log_die(111, "fatal: %s", "bye");
    }
    close(p[1]);
    while (n < cap - 1 && (r = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, status, 0), pid);
}

START_TEST(die_exits_with_code)
{
    char out[4096];
    int st;
    run_die(0, &st, out, sizeof out);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 111);
    expect_record(out, strlen(out), "qmail-queue", "fatal: bye");
    run_die(1, &st, out, sizeof out);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 53);
    expect_record(out, strlen(out), "qmail-queue",
                  "unable to write mess: No space left on device");
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, format);
    tcase_add_test(tc, progname_plain);
    tcase_add_test(tc, control_characters);
    tcase_add_test(tc, high_bytes);
    tcase_add_test(tc, errno_text_and_kept);
    tcase_add_test(tc, long_message_truncated);
    tcase_add_test(tc, long_progname);
    tcase_add_test(tc, progname_newline);
    tcase_add_test(tc, two_records);
    tcase_add_test(tc, die_exits_with_code);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
