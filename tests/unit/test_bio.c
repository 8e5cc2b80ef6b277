/* test_bio.c: buffered I/O: line limits, split reads, EOF, deadlines. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "timeutil.h"

/* A pipe already holding data, write end closed: reads see data then EOF. */
static int pipe_with(const void *data, size_t n)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_uint_lt(n, 60000); /* fits in the pipe buffer */
    ck_assert_int_eq(write(p[1], data, n), (ssize_t)n);
    close(p[1]);
    return p[0];
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Fork a writer that sends each piece with a pause between them, so the
 * reader sees a line arrive in several reads.  Returns the read end. */
static int slow_writer(const char *const *pieces, pid_t *pid)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    *pid = fork();
    ck_assert_int_ne(*pid, -1);
    if (*pid == 0) {
        close(sv[0]);
        for (; *pieces; pieces++) {
            size_t n = strlen(*pieces);
            if (write(sv[1], *pieces, n) != (ssize_t)n)
                _exit(1);
            sleep_ms(20);
        }
        _exit(0);
    }
    close(sv[1]);
    return sv[0];
}

static void reap(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Read one line into a fresh dstr and compare. */
static void expect_line(bio *b, size_t max, int want_r, const void *want,
                        size_t wantlen, int want_toolong)
{
    dstr line = DSTR_ZERO;
    int toolong = -1;
    int r = bio_getline(b, &line, max, &toolong);
    ck_assert_int_eq(r, want_r);
    ck_assert_int_eq(toolong, want_toolong);
    ck_assert_uint_eq(line.len, wantlen);
    if (wantlen)
        ck_assert_mem_eq(line.s, want, wantlen);
    dstr_free(&line);
}

START_TEST(getline_basic)
{
    char buf[64];
    bio b;
    int fd = pipe_with("one\ntwo\n\nthree\n", 15);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 100, 1, "one\n", 4, 0);
    expect_line(&b, 100, 1, "two\n", 4, 0);
    expect_line(&b, 100, 1, "\n", 1, 0);
    expect_line(&b, 100, 1, "three\n", 6, 0);
    expect_line(&b, 100, 0, "", 0, 0);
    expect_line(&b, 100, 0, "", 0, 0); /* EOF stays EOF */
    close(fd);
}
END_TEST

START_TEST(getline_appends)
{
    char buf[64];
    bio b;
    dstr line = DSTR_ZERO;
    int fd = pipe_with("abc\n", 4), toolong;
    bio_init(&b, fd, buf, sizeof buf, 5);
    ck_assert_int_eq(dstr_cats(&line, "pre:"), 0);
    ck_assert_int_eq(bio_getline(&b, &line, 100, &toolong), 1);
    ck_assert(dstr_equals(&line, "pre:abc\n"));
    dstr_free(&line);
    close(fd);
}
END_TEST

START_TEST(getline_eof_without_newline)
{
    char buf[64];
    bio b;
    int fd = pipe_with("first\nlast", 10);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 100, 1, "first\n", 6, 0);
    expect_line(&b, 100, 1, "last", 4, 0);
    expect_line(&b, 100, 0, "", 0, 0);
    close(fd);
}
END_TEST

START_TEST(getline_empty_input)
{
    char buf[8];
    bio b;
    int fd = pipe_with("", 0);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 100, 0, "", 0, 0);
    close(fd);
}
END_TEST

/* A buffer much smaller than the lines: each line spans many fills. */
START_TEST(getline_tiny_buffer)
{
    char buf[3];
    bio b;
    int fd = pipe_with("hello world\nx\nsecond line here\n", 31);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 100, 1, "hello world\n", 12, 0);
    expect_line(&b, 100, 1, "x\n", 2, 0);
    expect_line(&b, 100, 1, "second line here\n", 17, 0);
    expect_line(&b, 100, 0, "", 0, 0);
    close(fd);
}
END_TEST

START_TEST(getline_nul_bytes)
{
    char buf[64];
    bio b;
    int fd = pipe_with("a\0b\nc\0\n", 7);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 100, 1, "a\0b\n", 4, 0);
    expect_line(&b, 100, 1, "c\0\n", 3, 0);
    close(fd);
}
END_TEST

/* Lines longer than max: flagged, truncated to max, the rest of the line
 * consumed, and the next line read intact. */
START_TEST(getline_toolong)
{
    char buf[64];
    bio b;
    int fd = pipe_with("0123456789\nok\nabcd\nabcde\nabcdef\nz\n", 34);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 5, 1, "01234", 5, 1);
    expect_line(&b, 5, 1, "ok\n", 3, 0);
    expect_line(&b, 5, 1, "abcd\n", 5, 0);  /* exactly max with '\n' */
    expect_line(&b, 5, 1, "abcde", 5, 1);   /* max+1 */
    expect_line(&b, 5, 1, "abcde", 5, 1);
    expect_line(&b, 5, 1, "z\n", 2, 0);
    expect_line(&b, 5, 0, "", 0, 0);
    close(fd);
}
END_TEST

/* An overlong line much larger than the buffer (an attacker's endless
 * line): memory use stays at max, and the next line is still found. */
START_TEST(getline_toolong_many_fills)
{
    static char data[50000];
    char buf[16];
    bio b;
    dstr line = DSTR_ZERO;
    int fd, toolong;

    memset(data, 'A', sizeof data);
    data[40000] = '\n';
    memcpy(data + 40001, "next\n", 5);
    fd = pipe_with(data, 40006);
    bio_init(&b, fd, buf, sizeof buf, 5);
    ck_assert_int_eq(bio_getline(&b, &line, 1000, &toolong), 1);
    ck_assert_int_eq(toolong, 1);
    ck_assert_uint_eq(line.len, 1000);
    ck_assert_uint_lt(line.cap, 4096);
    expect_line(&b, 1000, 1, "next\n", 5, 0);
    expect_line(&b, 1000, 0, "", 0, 0);
    dstr_free(&line);
    close(fd);
}
END_TEST

START_TEST(getline_toolong_at_eof)
{
    char buf[64];
    bio b;
    int fd = pipe_with("abcdefgh", 8);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 3, 1, "abc", 3, 1);
    expect_line(&b, 3, 0, "", 0, 0);
    close(fd);
}
END_TEST

START_TEST(getline_max_zero)
{
    char buf[64];
    bio b;
    int fd = pipe_with("abc\nd\n", 6);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 0, 1, "", 0, 1);
    expect_line(&b, 0, 1, "", 0, 1);
    expect_line(&b, 0, 0, "", 0, 0);
    close(fd);
}
END_TEST

START_TEST(getline_null_toolong_pointer)
{
    char buf[64];
    bio b;
    dstr line = DSTR_ZERO;
    int fd = pipe_with("0123456789\nok\n", 14);
    bio_init(&b, fd, buf, sizeof buf, 5);
    ck_assert_int_eq(bio_getline(&b, &line, 4, NULL), 1);
    ck_assert(dstr_equals(&line, "0123"));
    line.len = 0;
    ck_assert_int_eq(bio_getline(&b, &line, 4, NULL), 1);
    ck_assert(dstr_equals(&line, "ok\n"));
    dstr_free(&line);
    close(fd);
}
END_TEST

/* Lines that arrive in pieces, across separate reads. */
START_TEST(getline_split_across_reads)
{
    static const char *const pieces[] = {"hel", "lo\nwor", "ld\n", "par",
                                         "tial", NULL};
    char buf[64];
    bio b;
    pid_t pid;
    int fd = slow_writer(pieces, &pid);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 100, 1, "hello\n", 6, 0);
    expect_line(&b, 100, 1, "world\n", 6, 0);
    expect_line(&b, 100, 1, "partial", 7, 0);
    expect_line(&b, 100, 0, "", 0, 0);
    close(fd);
    reap(pid);
}
END_TEST

START_TEST(getline_toolong_split_across_reads)
{
    static const char *const pieces[] = {"aaaa", "aaaa", "aaaa\nb", "\n",
                                         NULL};
    char buf[64];
    bio b;
    pid_t pid;
    int fd = slow_writer(pieces, &pid);
    bio_init(&b, fd, buf, sizeof buf, 5);
    expect_line(&b, 6, 1, "aaaaaa", 6, 1);
    expect_line(&b, 6, 1, "b\n", 2, 0);
    expect_line(&b, 6, 0, "", 0, 0);
    close(fd);
    reap(pid);
}
END_TEST

START_TEST(getsep_nul)
{
    char buf[8];
    bio b;
    dstr out = DSTR_ZERO;
    int fd = pipe_with("Fa@b\0Tc@d\0tail", 14), toolong;
    bio_init(&b, fd, buf, sizeof buf, 5);
    ck_assert_int_eq(bio_getsep(&b, &out, 0, 100, &toolong), 1);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_mem_eq(out.s, "Fa@b\0", 5);
    out.len = 0;
    ck_assert_int_eq(bio_getsep(&b, &out, 0, 100, &toolong), 1);
    ck_assert_mem_eq(out.s, "Tc@d\0", 5);
    out.len = 0;
    ck_assert_int_eq(bio_getsep(&b, &out, 0, 100, &toolong), 1);
    ck_assert(dstr_equals(&out, "tail"));
    out.len = 0;
    ck_assert_int_eq(bio_getsep(&b, &out, 0, 100, &toolong), 0);
    dstr_free(&out);
    close(fd);
}
END_TEST

/* Nobody writes, nobody closes: the read fails with ETIMEDOUT after the
 * deadline (1 s) instead of waiting forever. */
START_TEST(read_timeout)
{
    char buf[64];
    bio b;
    dstr line = DSTR_ZERO;
    int p[2], toolong;
    int64_t t0, ms;

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "partial", 7), 7);
    bio_init(&b, p[0], buf, sizeof buf, 1);
    t0 = time_mono_ms();
    errno = 0;
    ck_assert_int_eq(bio_getline(&b, &line, 100, &toolong), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ms = time_mono_ms() - t0;
    ck_assert_msg(ms >= 900 && ms < 3000, "timed out after %lld ms",
                  (long long)ms);
    dstr_free(&line);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(bio_read_small_and_large)
{
    char buf[8], out[64];
    bio b;
    int fd = pipe_with("0123456789abcdefghij", 20);
    bio_init(&b, fd, buf, sizeof buf, 5);
    ck_assert_int_eq(bio_read(&b, out, 0), 0);
    ck_assert_int_eq(bio_read(&b, out, 3), 3);
    ck_assert_mem_eq(out, "012", 3);
    /* the rest of the buffered bytes come first */
    ck_assert_int_eq(bio_read(&b, out, 64), 5);
    ck_assert_mem_eq(out, "34567", 5);
    /* empty buffer and a large request: read straight into out */
    ck_assert_int_eq(bio_read(&b, out, 64), 12);
    ck_assert_mem_eq(out, "89abcdefghij", 12);
    ck_assert_int_eq(bio_read(&b, out, 64), 0);
    close(fd);
}
END_TEST

START_TEST(bio_read_then_getline)
{
    char buf[16], out[4];
    bio b;
    int fd = pipe_with("HDR:line one\nline two\n", 22);
    bio_init(&b, fd, buf, sizeof buf, 5);
    ck_assert_int_eq(bio_read(&b, out, 4), 4);
    ck_assert_mem_eq(out, "HDR:", 4);
    expect_line(&b, 100, 1, "line one\n", 9, 0);
    expect_line(&b, 100, 1, "line two\n", 9, 0);
    close(fd);
}
END_TEST

static size_t drain(int fd, char *out, size_t n)
{
    size_t got = 0;
    ssize_t r;
    while (got < n && (r = read(fd, out + got, n - got)) > 0)
        got += (size_t)r;
    return got;
}

START_TEST(put_buffers_until_flush)
{
    char buf[16], out[128];
    bio b;
    int p[2];

    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    bio_init(&b, p[1], buf, sizeof buf, 5);
    ck_assert_int_eq(bio_puts(&b, "250 ok\r\n"), 0);
    ck_assert_int_eq(read(p[0], out, sizeof out), -1); /* nothing yet */
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(bio_flush(&b), 0);
    ck_assert_int_eq(read(p[0], out, sizeof out), 8);
    ck_assert_mem_eq(out, "250 ok\r\n", 8);
    ck_assert_int_eq(bio_flush(&b), 0); /* nothing pending: no-op */

    /* filling past the buffer flushes the old bytes first, in order */
    ck_assert_int_eq(bio_puts(&b, "0123456789"), 0);
    ck_assert_int_eq(bio_puts(&b, "abcdefghij"), 0);
    /* larger than the buffer: written straight through after a flush */
    ck_assert_int_eq(bio_put(&b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26), 0);
    ck_assert_int_eq(bio_flush(&b), 0);
    ck_assert_uint_eq(drain(p[0], out, 46), 46);
    ck_assert_mem_eq(out, "0123456789abcdefghijABCDEFGHIJKLMNOPQRSTUVWXYZ",
                     46);
    ck_assert_int_eq(bio_put(&b, "", 0), 0);
    {
        dstr empty = DSTR_ZERO; /* s is NULL */
        ck_assert_int_eq(bio_put(&b, empty.s, empty.len), 0);
        ck_assert_int_eq(bio_flush(&b), 0);
    }
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(write_to_closed_reader)
{
    char buf[16];
    bio b;
    int p[2];
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    bio_init(&b, p[1], buf, sizeof buf, 1);
    ck_assert_int_eq(bio_puts(&b, "x"), 0);
    errno = 0;
    ck_assert_int_eq(bio_flush(&b), -1);
    ck_assert_int_eq(errno, EPIPE);
    close(p[1]);
}
END_TEST

/* A peer that never reads: a large write fails with ETIMEDOUT after the
 * deadline instead of blocking forever in write(2). */
START_TEST(write_timeout)
{
    static char big[1 << 20];
    int p[2];
    int64_t t0, ms;

    ck_assert_int_eq(pipe(p), 0);
    t0 = time_mono_ms();
    errno = 0;
    ck_assert_int_eq(fd_write_all(p[1], big, sizeof big, 1), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ms = time_mono_ms() - t0;
    ck_assert_msg(ms >= 900 && ms < 3000, "timed out after %lld ms",
                  (long long)ms);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(fd_read_timeout_plain)
{
    char out[16];
    int fd = pipe_with("abc", 3);
    ck_assert_int_eq(fd_read_timeout(fd, out, sizeof out, 1), 3);
    ck_assert_int_eq(fd_read_timeout(fd, out, sizeof out, 1), 0);
    ck_assert_int_eq(fd_read_timeout(fd, out, sizeof out, 0), 0);
    close(fd);
    errno = 0;
    ck_assert_int_eq(fd_read_timeout(fd, out, sizeof out, 0), -1);
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *bio_suite(void)
{
    Suite *s = suite_create("bio");
    TCase *tc = tcase_create("read");
    TCase *tw = tcase_create("write");
    tcase_add_test(tc, getline_basic);
    tcase_add_test(tc, getline_appends);
    tcase_add_test(tc, getline_eof_without_newline);
    tcase_add_test(tc, getline_empty_input);
    tcase_add_test(tc, getline_tiny_buffer);
    tcase_add_test(tc, getline_nul_bytes);
    tcase_add_test(tc, getline_toolong);
    tcase_add_test(tc, getline_toolong_many_fills);
    tcase_add_test(tc, getline_toolong_at_eof);
    tcase_add_test(tc, getline_max_zero);
    tcase_add_test(tc, getline_null_toolong_pointer);
    tcase_add_test(tc, getline_split_across_reads);
    tcase_add_test(tc, getline_toolong_split_across_reads);
    tcase_add_test(tc, getsep_nul);
    tcase_add_test(tc, read_timeout);
    tcase_add_test(tc, bio_read_small_and_large);
    tcase_add_test(tc, bio_read_then_getline);
    tcase_add_test(tc, fd_read_timeout_plain);
    tcase_add_test(tw, put_buffers_until_flush);
    tcase_add_test(tw, write_to_closed_reader);
    tcase_add_test(tw, write_timeout);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tw);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bio_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
