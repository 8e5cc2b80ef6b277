// modules: src/pop3
/* Unit tests: the Maildir listing of qmail-pop3d, and the two protocol
 * state machines (qmail-popup before the login, qmail-pop3d after it)
 * driven through a socket pair. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pop3_maildir.h"
#include "pop3d_session.h"
#include "popup_session.h"
#include "timeutil.h"
#include "unit_tmpdir.h"

static void make_maildir(void)
{
    ck_assert_int_eq(mkdir("cur", 0700), 0);
    ck_assert_int_eq(mkdir("new", 0700), 0);
    ck_assert_int_eq(mkdir("tmp", 0700), 0);
}

/* A message file with a given modification time (seconds). */
static void put_message(const char *path, const char *text, long when)
{
    struct timespec ts[2];
    tmpdir_puts(path, text);
    ts[0].tv_sec = ts[1].tv_sec = when;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static long find_uid(const struct pop3_box *b, const char *uid)
{
    size_t i;
    for (i = 0; i < b->n; i++)
        if (strcmp(pop3_box_uid(b, i), uid) == 0)
            return (long)i;
    return -1;
}

/* ---- Maildir ------------------------------------------------------------------------ */

START_TEST(maildir_scan)
{
    struct pop3_box b;
    struct stat st;

    make_maildir();
    put_message("new/300.M1P1.h", "third\n", 300);
    put_message("new/100.M1P1.h", "first\nline\n", 100);
    put_message("cur/200.M1P1.h:2,S", "second\r\n", 200);
    put_message("cur/.hidden", "x\n", 50);
    tmpdir_puts("tmp/50.M1P1.h", "in delivery\n");
    ck_assert_int_eq(symlink("/etc/passwd", "cur/60.link:2,"), 0);
    ck_assert_int_eq(mkdir("cur/70.dir:2,", 0700), 0);
    ck_assert_int_eq(mkfifo("cur/80.fifo:2,", 0600), 0);

    ck_assert_int_eq(pop3_box_scan(&b, POP3_BOX_MAX), 0);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_uint_eq(b.skipped, 0);
    /* in delivery order, new/ moved to cur/ with ":2," */
    ck_assert_str_eq(pop3_box_uid(&b, 0), "100.M1P1.h");
    ck_assert_str_eq(pop3_box_path(&b, 0), "cur/100.M1P1.h:2,");
    ck_assert_str_eq(pop3_box_uid(&b, 1), "200.M1P1.h");
    ck_assert_str_eq(pop3_box_path(&b, 1), "cur/200.M1P1.h:2,S");
    ck_assert_str_eq(pop3_box_uid(&b, 2), "300.M1P1.h");
    ck_assert_uint_eq(b.msg[0].size, 13);
    ck_assert_uint_eq(b.msg[1].size, 8);
    ck_assert_uint_eq(b.msg[2].size, 7);
    ck_assert_int_eq(stat("new/100.M1P1.h", &st), -1);
    ck_assert_int_eq(stat("cur/300.M1P1.h:2,", &st), 0);
    ck_assert_int_eq(st.st_mtim.tv_sec, 300); /* kept by the rename */
    ck_assert_int_eq(stat("tmp/50.M1P1.h", &st), 0); /* recent */
    pop3_box_free(&b);

    /* tmp/ files unused for 36 hours are removed, only those */
    put_message("tmp/1.old.h", "debris\n", time(0) - 37 * 3600);
    ck_assert_int_eq(symlink("/nonexistent", "tmp/2.link"), 0);
    ck_assert_int_eq(pop3_box_scan(&b, POP3_BOX_MAX), 0);
    ck_assert_int_eq(stat("tmp/1.old.h", &st), -1);
    ck_assert_int_eq(stat("tmp/50.M1P1.h", &st), 0);
    ck_assert_int_eq(lstat("tmp/2.link", &st), 0);
    pop3_box_free(&b);

    /* a second session lists the same messages with the same UIDLs */
    ck_assert_int_eq(pop3_box_scan(&b, POP3_BOX_MAX), 0);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_str_eq(pop3_box_uid(&b, 0), "100.M1P1.h");
    ck_assert_str_eq(pop3_box_uid(&b, 2), "300.M1P1.h");
    pop3_box_free(&b);
}
END_TEST

START_TEST(maildir_not_a_maildir)
{
    struct pop3_box b;

    ck_assert_int_eq(mkdir("cur", 0700), 0);
    errno = 0;
    ck_assert_int_eq(pop3_box_scan(&b, POP3_BOX_MAX), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(maildir_name_taken_in_cur)
{
    struct pop3_box b;

    make_maildir();
    put_message("new/1.a.h", "new one\n", 10);
    put_message("cur/1.a.h:2,", "old one\n", 5);
    ck_assert_int_eq(pop3_box_scan(&b, POP3_BOX_MAX), 0);
    /* never replaced: the new one is served from new/ */
    ck_assert_uint_eq(b.n, 2);
    ck_assert_str_eq(pop3_box_path(&b, 0), "cur/1.a.h:2,");
    ck_assert_str_eq(pop3_box_path(&b, 1), "new/1.a.h");
    pop3_box_free(&b);
}
END_TEST

START_TEST(maildir_limit)
{
    struct pop3_box b;
    char path[64];
    int i;

    make_maildir();
    for (i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "cur/%d.x.h:2,", i);
        put_message(path, "m\n", 100 + i);
    }
    ck_assert_int_eq(pop3_box_scan(&b, 4), 0);
    ck_assert_uint_eq(b.n, 4);
    ck_assert_uint_eq(b.skipped, 6);
    pop3_box_free(&b);
}
END_TEST

START_TEST(maildir_many)
{
    struct pop3_box b;
    char path[64];
    int i;

    make_maildir();
    for (i = 0; i < 10000; i++) {
        snprintf(path, sizeof path, "new/%d.M%dP1.host", 1000000 + i, i);
        tmpdir_puts(path, "Subject: x\n\nbody\n");
    }
    ck_assert_int_eq(pop3_box_scan(&b, POP3_BOX_MAX), 0);
    ck_assert_uint_eq(b.n, 10000);
    for (i = 0; i < 10000; i++)
        ck_assert_uint_eq(b.msg[i].size, 20);
    /* one record and two short strings per message */
    ck_assert_uint_lt(b.names.len, 10000 * 64);
    pop3_box_free(&b);
}
END_TEST

START_TEST(maildir_renamed_or_gone)
{
    struct pop3_box b;
    struct stat st;
    char buf[64];
    long i, j;
    int fd;

    make_maildir();
    put_message("cur/1.a.h:2,", "one\n", 1);
    put_message("cur/2.a.h:2,", "two\n", 2);
    put_message("cur/3.a.h:2,", "three\n", 3);
    ck_assert_int_eq(pop3_box_scan(&b, POP3_BOX_MAX), 0);
    i = find_uid(&b, "1.a.h");
    j = find_uid(&b, "2.a.h");
    ck_assert_int_ge(i, 0);
    /* a mail reader marks message 1 seen: it is found again */
    ck_assert_int_eq(rename("cur/1.a.h:2,", "cur/1.a.h:2,S"), 0);
    fd = pop3_box_open(&b, (size_t)i);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(read(fd, buf, sizeof buf), 4);
    close(fd);
    ck_assert_str_eq(pop3_box_path(&b, (size_t)i), "cur/1.a.h:2,S");
    /* another session removed message 2: gone, and removing it is fine */
    ck_assert_int_eq(unlink("cur/2.a.h:2,"), 0);
    errno = 0;
    ck_assert_int_eq(pop3_box_open(&b, (size_t)j), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(pop3_box_remove(&b, (size_t)j), 0);
    /* renamed, then removed by us */
    ck_assert_int_eq(rename("cur/1.a.h:2,S", "cur/1.a.h:2,RS"), 0);
    ck_assert_int_eq(pop3_box_remove(&b, (size_t)i), 0);
    ck_assert_int_eq(stat("cur/1.a.h:2,RS", &st), -1);
    ck_assert_int_eq(stat("cur/3.a.h:2,", &st), 0);
    pop3_box_free(&b);
}
END_TEST

/* ---- talking through a socket pair ----------------------------------------------- */

/* Put input in front of fds 0 and 1, run fn, and return everything it
 * wrote (malloc'ed, NUL-terminated). */
static char *converse(int (*fn)(void *), void *arg, const char *in,
                      size_t inlen, int *result)
{
    int sv[2];
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    ssize_t r;
    int nul;

    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(write(sv[0], in, inlen), (ssize_t)inlen);
    ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
    ck_assert_int_eq(dup2(sv[1], 0), 0);
    ck_assert_int_eq(dup2(sv[1], 1), 1);
    close(sv[1]);
    *result = fn(arg);
    /* our ends of the connection go; fds 0 and 1 stay taken, so that the
     * next socket pair does not land on them */
    nul = open("/dev/null", O_RDWR);
    ck_assert_int_gt(nul, 1);
    ck_assert_int_eq(dup2(nul, 0), 0);
    ck_assert_int_eq(dup2(nul, 1), 1);
    close(nul);
    while ((r = read(sv[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = 0;
    close(sv[0]);
    return out;
}

/* ---- qmail-popup ----------------------------------------------------------------- */

static char *popup_argv[4];

static int run_popup(void *arg) { return popup_run(arg); }

static void popup_setup(struct popup *p, const char *script)
{
    signal(SIGPIPE, SIG_IGN); /* as qmail-popup does */
    memset(p, 0, sizeof *p);
    p->host = "pop.example";
    popup_argv[0] = "/bin/sh";
    popup_argv[1] = "-c";
    popup_argv[2] = (char *)script;
    popup_argv[3] = 0;
    p->subprogram = popup_argv;
    p->conf.timeout = 5;
    p->conf.logintimeout = 60;
    p->conf.faildelay = 0;
    p->conf.addrfailures = 0;
    p->conf.addrwindow = 600;
    p->remote = "192.0.2.7";
    p->infd = 0;
    p->outfd = 1;
}

static struct popup popup;

START_TEST(popup_dialogue)
{
    static const char in[] = "CAPA\r\n"
                             "STAT\r\n"
                             "PASS x\r\n"
                             "APOP alice 0123456789abcdef\r\n"
                             "FROB\r\n"
                             "\r\n"
                             "USER\r\n"
                             "quit\r\n"
                             "NOOP\r\n";
    char *out;
    int r;

    popup_setup(&popup, "exit 1");
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "+OK capability list follows\r\n"
                          "USER\r\nTOP\r\nUIDL\r\nPIPELINING\r\n"
                          "RESP-CODES\r\nAUTH-RESP-CODE\r\n.\r\n"
                          "-ERR not logged in; send USER and PASS\r\n"
                          "-ERR send USER first\r\n"
                          "-ERR APOP is not supported; use USER and PASS\r\n"
                          "-ERR unknown command\r\n"
                          "-ERR empty command\r\n"
                          "-ERR syntax error\r\n"
                          "+OK bye\r\n");
    free(out);
}
END_TEST

START_TEST(popup_checkpassword_input)
{
    static const char in[] = "USER alice\r\nPASS  pass word\r\n";
    char buf[600], *out;
    const char *stamp;
    int r, fd;
    ssize_t n;

    popup_setup(&popup, "cat <&3 > fd3; exit 1");
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "+OK send PASS\r\n"
                          "-ERR [AUTH] authorization failed\r\n");
    free(out);
    fd = open("fd3", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof buf);
    close(fd);
    ck_assert_int_gt(n, 18);
    /* NAME\0PASSWORD\0TIMESTAMP\0, the password with its spaces */
    ck_assert(memcmp(buf, "alice\0 pass word\0<", 18) == 0);
    ck_assert_int_eq(buf[n - 1], 0);
    stamp = buf + 17;
    ck_assert_uint_eq(strlen(stamp), (size_t)n - 18);
    ck_assert_ptr_nonnull(strstr(stamp, "@pop.example>"));
    ck_assert_str_eq(stamp, popup.stamp);
}
END_TEST

START_TEST(popup_success_hands_over)
{
    /* the checkpassword program serves the rest: popup says nothing more,
     * and the commands pipelined after PASS are there for it */
    static const char in[] = "USER alice\r\nPASS pw\r\nSTAT\r\nQUIT\r\n";
    char *out;
    int r;

    popup_setup(&popup,
                "cat <&3 >/dev/null; read l; printf '+OK sub %s\\n' \"$l\"");
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "+OK send PASS\r\n"
                          "+OK sub STAT\r\n");
    free(out);
}
END_TEST

START_TEST(popup_failures_end_the_connection)
{
    static const char in[] = "USER a\r\nPASS 1\r\nUSER a\r\nPASS 2\r\n"
                             "USER a\r\nPASS 3\r\nUSER a\r\nPASS 4\r\n";
    char *out;
    int r;

    popup_setup(&popup, "exit 1");
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "+OK send PASS\r\n"
                          "-ERR [AUTH] authorization failed\r\n"
                          "+OK send PASS\r\n"
                          "-ERR [AUTH] authorization failed\r\n"
                          "+OK send PASS\r\n"
                          "-ERR [AUTH] authorization failed; too many "
                          "failures, bye\r\n");
    free(out);
}
END_TEST

START_TEST(popup_temporary_failure)
{
    static const char in[] = "USER a\r\nPASS 1\r\nPASS 2\r\nQUIT\r\n";
    char *out;
    int r;

    popup_setup(&popup, "exit 111");
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "+OK send PASS\r\n"
                          "-ERR [SYS/TEMP] unable to log in now; try again "
                          "later\r\n"
                          "-ERR send USER first\r\n"
                          "+OK bye\r\n");
    free(out);
    /* a program that cannot be run is a temporary failure too */
    popup_setup(&popup, "exit 1");
    popup_argv[0] = "/nonexistent/checkpassword";
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_ptr_nonnull(strstr(out, "-ERR [SYS/TEMP]"));
    free(out);
}
END_TEST

START_TEST(popup_bad_lines)
{
    char in[2000], *out, *p;
    size_t n = 0;
    int r, i;

    /* a NUL, control characters; the session goes on */
    memcpy(in, "USER a\0b\r\nUSER a\x01\r\nQUIT\r\n", 25);
    n = 25;
    popup_setup(&popup, "exit 1");
    out = converse(run_popup, &popup, in, n, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "-ERR bad characters in command\r\n"
                          "-ERR bad characters in command\r\n"
                          "+OK bye\r\n");
    free(out);
    /* 255 octets with the CR LF are fine (RFC 2449) */
    memset(in, 'x', 253);
    memcpy(in, "USER ", 5);
    memcpy(in + 253, "\r\nQUIT\r\n", 8);
    out = converse(run_popup, &popup, in, 261, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "+OK send PASS\r\n"
                          "+OK bye\r\n");
    free(out);
    /* the first longer line ends the session: with its CR LF, without
     * CR, or never ending */
    memcpy(in + 253, "x\r\nQUIT\r\n", 9);
    out = converse(run_popup, &popup, in, 262, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "-ERR command line too long; bye\r\n");
    free(out);
    memcpy(in + 253, "x\nQUIT\r\n", 8);
    out = converse(run_popup, &popup, in, 261, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "-ERR command line too long; bye\r\n");
    free(out);
    memset(in, 'x', sizeof in);
    out = converse(run_popup, &popup, in, sizeof in, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "-ERR command line too long; bye\r\n");
    free(out);
    /* too many bad commands end the session */
    n = 0;
    for (i = 0; i < 30; i++) {
        memcpy(in + n, "BAD\r\n", 5);
        n += 5;
    }
    out = converse(run_popup, &popup, in, n, &r);
    ck_assert_ptr_nonnull(p = strstr(out, "-ERR too many bad commands; bye"));
    ck_assert_str_eq(p, "-ERR too many bad commands; bye\r\n");
    free(out);
}
END_TEST

START_TEST(popup_address_limit)
{
    static const char in[] = "USER a\r\nPASS 1\r\nUSER a\r\nPASS 2\r\n";
    char *out;
    int r;

    popup_setup(&popup, "exit 1");
    popup.throttle_path = "failures";
    popup.conf.addrfailures = 2;
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    free(out);
    /* the next connection from there is refused without a check, even
     * with a program that would accept */
    popup_setup(&popup, "echo accepted");
    popup.throttle_path = "failures";
    popup.conf.addrfailures = 2;
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "+OK send PASS\r\n"
                          "-ERR [SYS/TEMP] too many failed logins from your "
                          "address; try again later\r\n");
    free(out);
    /* another address is not affected */
    popup_setup(&popup, "cat <&3 >/dev/null; echo accepted");
    popup.throttle_path = "failures";
    popup.conf.addrfailures = 2;
    popup.remote = "192.0.2.8";
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_ptr_nonnull(strstr(out, "accepted\n"));
    free(out);
}
END_TEST

/* The client's side of a session in a child process: sends each of the
 * n commands, pausing gap_ms before each, then keeps the connection open
 * until the server closes it; returns the socket of the server's side. */
static int slow_client(const char *const *cmds, size_t n, int gap_ms,
                       pid_t *pid)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    *pid = fork();
    ck_assert_int_ne(*pid, -1);
    if (*pid == 0) {
        char buf[4096];
        size_t i;
        close(sv[1]);
        for (i = 0; i < n; i++) {
            usleep((useconds_t)gap_ms * 1000);
            if (write(sv[0], cmds[i], strlen(cmds[i])) < 0)
                _exit(0);
        }
        while (read(sv[0], buf, sizeof buf) > 0)
            ;
        _exit(0);
    }
    close(sv[0]);
    return sv[1];
}

START_TEST(popup_login_deadline)
{
    /* every command well within timeoutpop3d, but the login as a whole
     * takes longer than timeoutpop3login */
    static const char *const cmds[] = {"CAPA\r\n", "CAPA\r\n", "CAPA\r\n",
                                       "CAPA\r\n", "CAPA\r\n", "CAPA\r\n",
                                       "CAPA\r\n", "CAPA\r\n", "QUIT\r\n"};
    int64_t t0;
    pid_t pid;
    int fd, r;

    popup_setup(&popup, "exit 1");
    popup.conf.timeout = 2;
    popup.conf.logintimeout = 1;
    fd = slow_client(cmds, sizeof cmds / sizeof cmds[0], 300, &pid);
    popup.infd = popup.outfd = fd;
    t0 = time_mono_ms();
    r = popup_run(&popup);
    ck_assert_int_eq(r, 0);
    ck_assert_int_lt(time_mono_ms() - t0, 2000);
    ck_assert_str_eq(popup.why, "login took too long");
    close(fd);
    kill(pid, SIGKILL);
    waitpid(pid, 0, 0);
}
END_TEST

START_TEST(popup_failure_answered_at_a_fixed_time)
{
    static const char in[] = "USER a\r\nPASS 1\r\nQUIT\r\n";
    int64_t t0, took;
    char *out;
    int r;

    /* a slow check (a hash of a higher cost) and a fast one are answered
     * at the same time: pop3faildelay after the PASS */
    popup_setup(&popup, "cat <&3 >/dev/null; sleep 0.6; exit 1");
    popup.conf.faildelay = 1;
    t0 = time_mono_ms();
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    took = time_mono_ms() - t0;
    ck_assert_ptr_nonnull(strstr(out, "+OK bye"));
    free(out);
    ck_assert_int_ge(took, 950);
    ck_assert_int_lt(took, 1400);
    popup_setup(&popup, "exit 1");
    popup.conf.faildelay = 1;
    t0 = time_mono_ms();
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    took = time_mono_ms() - t0;
    free(out);
    ck_assert_int_ge(took, 950);
    ck_assert_int_lt(took, 1400);
    /* a check longer than the delay: the next multiple of it */
    popup_setup(&popup, "cat <&3 >/dev/null; sleep 1.2; exit 1");
    popup.conf.faildelay = 1;
    t0 = time_mono_ms();
    out = converse(run_popup, &popup, "USER a\r\nPASS 1\r\n", 16, &r);
    took = time_mono_ms() - t0;
    free(out);
    ck_assert_int_ge(took, 1900);
    ck_assert_int_lt(took, 2500);
}
END_TEST

/* Count the lines of a file (0 if it does not exist). */
static int file_lines(const char *path)
{
    char buf[4096];
    ssize_t n, i;
    int fd = open(path, O_RDONLY), lines = 0;

    if (fd == -1)
        return 0;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (i = 0; i < n; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

START_TEST(popup_address_limit_parallel)
{
    static const char in[] = "USER a\r\nPASS x\r\n";
    int i, status;

    /* 20 connections at once from one address, limit 5: at most 5
     * password checks, however they overlap */
    for (i = 0; i < 20; i++)
        if (fork() == 0) {
            char *out;
            int r;
            popup_setup(&popup, "cat <&3 >/dev/null; echo run >> runs; "
                                "sleep 0.5; exit 1");
            popup.throttle_path = "failures";
            popup.conf.addrfailures = 5;
            out = converse(run_popup, &popup, in, sizeof in - 1, &r);
            free(out);
            _exit(0);
        }
    for (i = 0; i < 20; i++)
        ck_assert_int_ne(wait(&status), -1);
    ck_assert_int_le(file_lines("runs"), 5);
    ck_assert_int_ge(file_lines("runs"), 1);
}
END_TEST

START_TEST(popup_success_is_not_a_failure)
{
    static const char in[] = "USER a\r\nPASS right\r\n";
    char *out;
    int r, i;

    /* a user who logs in often is not locked out by the limit */
    for (i = 0; i < 5; i++) {
        popup_setup(&popup, "cat <&3 >/dev/null; echo ok >> runs");
        popup.throttle_path = "failures";
        popup.conf.addrfailures = 2;
        out = converse(run_popup, &popup, in, sizeof in - 1, &r);
        ck_assert_int_eq(popup.handed_over, 1);
        free(out);
    }
    ck_assert_int_eq(file_lines("runs"), 5);
}
END_TEST

START_TEST(popup_no_address_is_logged)
{
    static const char in[] = "USER a\r\nPASS 1\r\nUSER a\r\nPASS 2\r\nQUIT\r\n";
    char buf[4096], *out, *at;
    int r, fd, found = 0;
    ssize_t n;

    /* no $TCPREMOTEIP and no IP socket: the limit is off, and the log
     * says so once */
    fd = open("log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);
    popup_setup(&popup, "exit 1");
    popup.throttle_path = "failures";
    popup.conf.addrfailures = 1;
    popup.remote = "unknown";
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    ck_assert_ptr_nonnull(strstr(out, "+OK bye"));
    free(out);
    fd = open("log", O_RDONLY);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    for (at = buf; (at = strstr(at, "is not an IP address")); at++)
        found++;
    ck_assert_int_eq(found, 1);
}
END_TEST

START_TEST(popup_peer_address_of_sockets)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    char ip[64];
    int l, c, a, sv[2];

    l = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    c = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    a = accept(l, 0, 0);
    ck_assert_int_ge(a, 0);
    ck_assert_int_eq(popup_peer_address(a, ip, sizeof ip), 0);
    ck_assert_str_eq(ip, "127.0.0.1");
    close(a);
    close(c);
    close(l);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(popup_peer_address(sv[0], ip, sizeof ip), -1);
    close(sv[0]);
    close(sv[1]);
    ck_assert_int_eq(popup_peer_address(open("/dev/null", O_RDONLY), ip,
                                        sizeof ip), -1);
}
END_TEST

START_TEST(popup_checkpassword_gets_no_stray_descriptors)
{
    static const char in[] = "USER a\r\nPASS x\r\nQUIT\r\n";
    char buf[256], *out;
    int r, fd;
    ssize_t n;

    /* whatever our caller left open stays with us */
    fd = open("/dev/null", O_RDONLY);
    ck_assert_int_eq(dup2(fd, 17), 17);
    close(fd);
    popup_setup(&popup, "cat <&3 >/dev/null; exec 3<&-; "
                        "ls /proc/self/fd > fds; exit 1");
    out = converse(run_popup, &popup, in, sizeof in - 1, &r);
    free(out);
    fd = open("fds", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    /* ls itself has its directory open on 3 */
    ck_assert_str_eq(buf, "0\n1\n2\n3\n");
}
END_TEST

/* 1 if the memory of process pid holds needle (n octets). */
static int memory_holds(pid_t pid, const char *needle, size_t n)
{
    char path[64], line[512];
    FILE *maps;
    int mem, found = 0;

    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    maps = fopen(path, "r");
    ck_assert_ptr_nonnull(maps);
    snprintf(path, sizeof path, "/proc/%ld/mem", (long)pid);
    mem = open(path, O_RDONLY);
    ck_assert_int_ge(mem, 0);
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perms[8];
        /* (sanitizers reserve terabytes of shadow memory: not ours) */
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
            perms[0] != 'r' || strstr(line, "[vvar") ||
            strstr(line, "[vsyscall]") || hi - lo > (1ul << 30))
            continue;
        while (lo < hi && !found) {
            static char buf[1 << 16];
            size_t want = hi - lo < sizeof buf ? hi - lo : sizeof buf;
            ssize_t got = pread(mem, buf, want, (off_t)lo);
            if (got <= 0)
                break;
            found = memmem(buf, (size_t)got, needle, n) != 0;
            /* a needle across two pieces: step back a little */
            lo += (size_t)got > n ? (size_t)got - n : (size_t)got;
        }
    }
    fclose(maps);
    close(mem);
    return found;
}

char memory_control[32]; /* not static: the compiler must keep it */

START_TEST(popup_forgets_the_password)
{
    /* the password, hidden from the test's own memory (which the child
     * inherits): each octet + 1 */
    static const char hidden[] = "t4ds4u.qbtt.:38";
    static const char kept[] = "opu.b.tfdsfu";
    char pass[sizeof hidden];
    size_t i, n = sizeof hidden - 1;
    struct stat st;
    pid_t pid;
    int status, tries;

    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        static char in[64];
        int len, sv[2];
        for (i = 0; i < sizeof kept - 1; i++)
            memory_control[i] = (char)(kept[i] - 1); /* a control */
        len = snprintf(in, sizeof in, "USER a\r\nPASS ");
        for (i = 0; i < n; i++)
            in[len++] = (char)(hidden[i] - 1);
        memcpy(in + len, "\r\n", 2);
        len += 2;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
            write(sv[0], in, (size_t)len) != len)
            _exit(1);
        explicit_bzero(in, sizeof in);
        shutdown(sv[0], SHUT_WR);
        /* logged in: the session runs in the checkpassword program while
         * qmail-popup waits */
        popup_setup(&popup, "cat <&3 >/dev/null; : > ready; "
                            "while [ ! -e done ]; do sleep 0.05; done");
        popup.infd = popup.outfd = sv[1];
        _exit(popup_run(&popup));
    }
    for (tries = 0; tries < 500 && stat("ready", &st) == -1; tries++)
        usleep(10000);
    ck_assert_int_eq(stat("ready", &st), 0);
    for (i = 0; i < n; i++)
        pass[i] = (char)(hidden[i] - 1);
    ck_assert_int_eq(memory_holds(pid, pass, n), 0);
    /* the search finds what is there */
    for (i = 0; i < sizeof kept - 1; i++)
        pass[i] = (char)(kept[i] - 1);
    ck_assert_int_eq(memory_holds(pid, pass, sizeof kept - 1), 1);
    explicit_bzero(pass, sizeof pass);
    close(open("done", O_WRONLY | O_CREAT, 0600));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(popup_host_and_stamp)
{
    char stamp[POPUP_STAMP_MAX], stamp2[POPUP_STAMP_MAX];

    ck_assert_int_eq(popup_host_ok("mail.example.org"), 1);
    ck_assert_int_eq(popup_host_ok(""), 0);
    ck_assert_int_eq(popup_host_ok("a b"), 0);
    ck_assert_int_eq(popup_host_ok("a<b"), 0);
    ck_assert_int_eq(popup_host_ok("a\r\n"), 0);
    ck_assert_int_eq(popup_make_stamp("h", stamp, sizeof stamp), 0);
    ck_assert_int_eq(popup_make_stamp("h", stamp2, sizeof stamp2), 0);
    ck_assert_str_ne(stamp, stamp2);
    ck_assert_int_eq(stamp[0], '<');
    ck_assert_ptr_nonnull(strstr(stamp, "@h>"));
    ck_assert_int_eq(popup_make_stamp("h", stamp, 10), -1);
}
END_TEST

/* ---- qmail-pop3d ------------------------------------------------------------------ */

static struct pop3d pop3d;

static int run_pop3d(void *arg) { return pop3d_run(arg); }

static void pop3d_setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* as qmail-pop3d does */
    make_maildir();
    put_message("new/1.a.h", "Subject: one\n\nbody 1\n.dot\n", 10);
    put_message("cur/2.a.h:2,S", "Subject: two\r\n\r\nbody 2\r\n", 20);
    put_message("new/3.a.h", "Subject: three\n\nno newline", 30);
    memset(&pop3d, 0, sizeof pop3d);
    pop3d.timeout = 5;
    pop3d.user = "alice";
    pop3d.remote = "192.0.2.7";
    ck_assert_int_eq(pop3_box_scan(&pop3d.box, POP3_BOX_MAX), 0);
}

START_TEST(pop3d_commands)
{
    static const char in[] = "STAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 3\r\n"
                             "RETR 1\r\nTOP 2 0\r\nTOP 3 5\r\nLAST\r\n"
                             "DELE 1\r\nLIST 1\r\nRETR 1\r\nSTAT\r\n"
                             "RSET\r\nLAST\r\nDELE 2\r\nNOOP\r\n"
                             "USER x\r\nRETR 4\r\nRETR 0\r\nTOP 1\r\n"
                             "TOP 1 x\r\nFROB\r\nQUIT\r\n";
    struct stat st;
    char *out;
    int r;

    pop3d_setup();
    out = converse(run_pop3d, &pop3d, in, sizeof in - 1, &r);
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(out,
                     "+OK 3 messages (84 octets)\r\n"
                     "+OK 3 84\r\n"
                     "+OK 3 messages (84 octets)\r\n"
                     "1 30\r\n2 24\r\n3 30\r\n.\r\n"
                     "+OK 2 24\r\n"
                     "+OK unique-id listing follows\r\n"
                     "1 1.a.h\r\n2 2.a.h\r\n3 3.a.h\r\n.\r\n"
                     "+OK 3 3.a.h\r\n"
                     "+OK 30 octets\r\n"
                     "Subject: one\r\n\r\nbody 1\r\n..dot\r\n.\r\n"
                     "+OK top of message follows\r\n"
                     "Subject: two\r\n\r\n.\r\n"
                     "+OK top of message follows\r\n"
                     "Subject: three\r\n\r\nno newline\r\n.\r\n"
                     "+OK 1\r\n"
                     "+OK message 1 deleted\r\n"
                     "-ERR message 1 is deleted\r\n"
                     "-ERR message 1 is deleted\r\n"
                     "+OK 2 54\r\n"
                     "+OK 3 messages (84 octets)\r\n"
                     "+OK 0\r\n"
                     "+OK message 2 deleted\r\n"
                     "+OK\r\n"
                     "-ERR already logged in\r\n"
                     "-ERR no such message\r\n"
                     "-ERR no such message\r\n"
                     "-ERR syntax error\r\n"
                     "-ERR syntax error: TOP message lines\r\n"
                     "-ERR unknown command\r\n"
                     "+OK bye, 1 messages removed\r\n");
    free(out);
    /* only message 2 was removed, at QUIT */
    ck_assert_int_eq(stat("cur/1.a.h:2,", &st), 0);
    ck_assert_int_eq(stat("cur/2.a.h:2,S", &st), -1);
    ck_assert_int_eq(stat("cur/3.a.h:2,", &st), 0);
    pop3_box_free(&pop3d.box);
}
END_TEST

START_TEST(pop3d_no_quit_removes_nothing)
{
    static const char in[] = "DELE 1\r\nDELE 2\r\nDELE 3\r\n";
    struct stat st;
    char *out;
    int r;

    pop3d_setup();
    out = converse(run_pop3d, &pop3d, in, sizeof in - 1, &r);
    ck_assert_int_eq(r, 0);
    free(out);
    ck_assert_int_eq(stat("cur/1.a.h:2,", &st), 0);
    ck_assert_int_eq(stat("cur/2.a.h:2,S", &st), 0);
    ck_assert_int_eq(stat("cur/3.a.h:2,", &st), 0);
    pop3_box_free(&pop3d.box);
}
END_TEST

START_TEST(pop3d_message_gone)
{
    static const char in[] = "RETR 1\r\nTOP 1 0\r\nDELE 1\r\nRETR 2\r\n"
                             "QUIT\r\n";
    char *out;
    int r;

    pop3d_setup();
    ck_assert_int_eq(unlink("cur/1.a.h:2,"), 0);
    out = converse(run_pop3d, &pop3d, in, sizeof in - 1, &r);
    ck_assert_str_eq(out,
                     "+OK 3 messages (84 octets)\r\n"
                     "-ERR message 1 is gone (removed by another "
                     "session?)\r\n"
                     "-ERR message 1 is gone (removed by another "
                     "session?)\r\n"
                     "+OK message 1 deleted\r\n"
                     "+OK 24 octets\r\n"
                     "Subject: two\r\n\r\nbody 2\r\n.\r\n"
                     "+OK bye, 1 messages removed\r\n");
    free(out);
    pop3_box_free(&pop3d.box);
}
END_TEST

START_TEST(pop3d_capa_and_errors)
{
    char in[4000], *out, *p;
    size_t n = 0;
    int r, i;

    pop3d_setup();
    memcpy(in, "CAPA\r\n", 6);
    n = 6;
    for (i = 0; i < 25; i++) {
        memcpy(in + n, "LIST 1 2\r\n", 10);
        n += 10;
    }
    out = converse(run_pop3d, &pop3d, in, n, &r);
    ck_assert_ptr_nonnull(strstr(out, "+OK capability list follows\r\n"
                                      "USER\r\nTOP\r\nUIDL\r\n"
                                      "PIPELINING\r\nRESP-CODES\r\n"
                                      "AUTH-RESP-CODE\r\n.\r\n"));
    p = strstr(out, "-ERR too many bad commands; bye\r\n");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p, "-ERR too many bad commands; bye\r\n");
    free(out);
    pop3_box_free(&pop3d.box);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("pop3_session");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, maildir_scan);
    tcase_add_test(tc, maildir_not_a_maildir);
    tcase_add_test(tc, maildir_name_taken_in_cur);
    tcase_add_test(tc, maildir_limit);
    tcase_add_test(tc, maildir_many);
    tcase_add_test(tc, maildir_renamed_or_gone);
    tcase_add_test(tc, popup_dialogue);
    tcase_add_test(tc, popup_checkpassword_input);
    tcase_add_test(tc, popup_success_hands_over);
    tcase_add_test(tc, popup_failures_end_the_connection);
    tcase_add_test(tc, popup_temporary_failure);
    tcase_add_test(tc, popup_bad_lines);
    tcase_add_test(tc, popup_address_limit);
    tcase_add_test(tc, popup_login_deadline);
    tcase_add_test(tc, popup_failure_answered_at_a_fixed_time);
    tcase_add_test(tc, popup_address_limit_parallel);
    tcase_add_test(tc, popup_success_is_not_a_failure);
    tcase_add_test(tc, popup_no_address_is_logged);
    tcase_add_test(tc, popup_peer_address_of_sockets);
    tcase_add_test(tc, popup_checkpassword_gets_no_stray_descriptors);
    tcase_add_test(tc, popup_forgets_the_password);
    tcase_add_test(tc, popup_host_and_stamp);
    tcase_add_test(tc, pop3d_commands);
    tcase_add_test(tc, pop3d_no_quit_removes_nothing);
    tcase_add_test(tc, pop3d_message_gone);
    tcase_add_test(tc, pop3d_capa_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(session_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
