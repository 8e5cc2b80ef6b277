// modules: src/pop3
/* Unit tests: the Maildir listing of qmail-pop3d, and the two protocol
 * state machines (qmail-popup before the login, qmail-pop3d after it)
 * driven through a socket pair. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pop3_maildir.h"
#include "pop3d_session.h"
#include "popup_session.h"
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

    /* an overlong line, a NUL, control characters; the session goes on */
    memset(in, 'x', 300);
    memcpy(in, "USER ", 5);
    n = 300;
    memcpy(in + n, "\r\nUSER a\0b\r\nUSER a\x01\r\nQUIT\r\n", 28);
    n += 28;
    popup_setup(&popup, "exit 1");
    out = converse(run_popup, &popup, in, n, &r);
    ck_assert_str_eq(out, "+OK pop.example POP3 server ready\r\n"
                          "-ERR command line too long\r\n"
                          "-ERR bad characters in command\r\n"
                          "-ERR bad characters in command\r\n"
                          "+OK bye\r\n");
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
