// modules: src/remote
/* Unit tests: qmail-remote's QMTP client (remote_qmtp) against a scripted
 * server on the other end of a socketpair, and control/qmtproutes' default
 * port. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "remote_msg.h"
#include "remote_out.h"
#include "remote_qmtp.h"
#include "remote_route.h"

START_TEST(qmtproutes_default_port)
{
    dstr list = DSTR_ZERO, what = DSTR_ZERO;
    remote_route rt = {0, DSTR_ZERO, 0};
    static const char lines[] = "a.test:relay.test\0b.test:\0"
                                "c.test:[192.0.2.1]:2209\0";

    ck_assert_int_eq(dstr_catb(&list, lines, sizeof lines - 1), 0);
    ck_assert_int_eq(remote_route_find_port(&list, "a.test", REMOTE_QMTP_PORT,
                                            &rt, &what), 1);
    ck_assert_uint_eq(rt.port, 209);
    ck_assert_str_eq(rt.relay.s, "relay.test");
    ck_assert_int_eq(remote_route_find_port(&list, "b.test", REMOTE_QMTP_PORT,
                                            &rt, &what), 1);
    ck_assert_int_eq(rt.mx, 1);
    ck_assert_uint_eq(rt.port, 209);
    ck_assert_int_eq(remote_route_find_port(&list, "c.test", REMOTE_QMTP_PORT,
                                            &rt, &what), 1);
    ck_assert_uint_eq(rt.port, 2209);
    /* no line: not routed (the caller goes on with SMTP) */
    ck_assert_int_eq(remote_route_find_port(&list, "d.test", REMOTE_QMTP_PORT,
                                            &rt, &what), 0);
    /* smtproutes keeps 25 */
    ck_assert_int_eq(remote_route_find(&list, "a.test", &rt, &what), 1);
    ck_assert_uint_eq(rt.port, 25);
    remote_route_free(&rt);
    dstr_free(&list);
    dstr_free(&what);
}
END_TEST

/* The package we expect for message "hi\n", sender s@x, rcpts. */
static const char PACKAGE[] = "4:\nhi\n,3:s@x,12:3:a@y,3:b@y,,";

/* Run remote_qmtp for recipients a@y, b@y against a child that reads the
 * package (checking it when check is set) and writes reply (n bytes)
 * then closes.  Returns remote_qmtp's result; statuses in st. */
static int session(const char *reply, size_t n, int check, remote_job *job,
                   remote_outcome *out, dstr *why)
{
    static char *rcpts[] = {"a@y", "b@y"};
    static remote_msg msg;
    int sv[2], mfd, status, r;
    pid_t pid;

    mfd = memfd_create("m", 0);
    ck_assert_int_ne(mfd, -1);
    ck_assert_int_eq(write(mfd, "hi\n", 3), 3);
    ck_assert_int_eq(lseek(mfd, 0, SEEK_SET), 0);
    ck_assert_int_eq(remote_msg_open(mfd, 5, &msg), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        char buf[256];
        size_t got = 0;
        close(sv[0]);
        while (got < sizeof PACKAGE - 1) {
            ssize_t k = read(sv[1], buf + got, sizeof buf - got);
            if (k <= 0)
                _exit(2);
            got += (size_t)k;
        }
        if (getenv("QMTP_DEBUG") && write(2, buf, got) < 0)
            _exit(5);
        if (check && (got != sizeof PACKAGE - 1 || 
                      memcmp(buf, PACKAGE, got) != 0))
            _exit(3);
        if (n && write(sv[1], reply, n) != (ssize_t)n)
            _exit(4);
        _exit(0);
    }
    close(sv[1]);
    (void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
    memset(job, 0, sizeof *job);
    memset(out, 0, 2 * sizeof *out);
    job->sender = "s@x";
    job->rcpts = rcpts;
    job->out = out;
    job->nrcpts = 2;
    job->msg = &msg;
    job->timeout = 5;
    r = remote_qmtp(sv[0], "peer [192.0.2.1]", job, why);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "server saw a wrong package (status %d)", status);
    close(mfd);
    return r;
}

START_TEST(responses_per_recipient)
{
    static const char reply[] = "5:Kfine,9:Dno such!,";
    remote_job job;
    remote_outcome out[2];
    dstr why = DSTR_ZERO;

    ck_assert_int_eq(session(reply, sizeof reply - 1, 1, &job, out, &why),
                     REMOTE_SMTP_DONE);
    ck_assert_int_eq(out[0].status, 'K');
    ck_assert_int_eq(out[1].status, 'D');
    ck_assert_int_eq(dstr_cat0(&out[1].text), 0);
    ck_assert_ptr_nonnull(strstr(out[1].text.s, "peer [192.0.2.1] refused "
                                                "the message over QMTP. "
                                                "Remote host said: no such!"));
    dstr_free(&out[0].text);
    dstr_free(&out[1].text);
    dstr_free(&why);
}
END_TEST

START_TEST(bad_responses_are_temporary)
{
    static const struct {
        const char *reply;
        char first, second;
    } cases[] = {
        {"3:Kok,", 'K', 'Z'},          /* one response, then closed */
        {"", 'Z', 'Z'},                /* nothing */
        {"3:Xok,3:Kok,", 'Z', 'Z'},    /* not K, Z or D */
        {"0:,3:Kok,", 'Z', 'Z'},       /* empty */
        {"3:Kok;3:Kok,", 'Z', 'Z'},    /* no comma */
        {"03:Kok,", 'Z', 'Z'},         /* leading zero */
        {"99999:Kok,", 'Z', 'Z'},      /* too long */
        {"3:Zno,8:Dgo away,", 'Z', 'D'},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        remote_job job;
        remote_outcome out[2];
        dstr why = DSTR_ZERO;

        ck_assert_int_eq(session(cases[i].reply, strlen(cases[i].reply), 0,
                                 &job, out, &why),
                         REMOTE_SMTP_DONE);
        ck_assert_msg(out[0].status == cases[i].first &&
                          out[1].status == cases[i].second,
                      "case %zu: %c %c", i, out[0].status, out[1].status);
        dstr_free(&out[0].text);
        dstr_free(&out[1].text);
        dstr_free(&why);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("remote_qmtp");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    signal(SIGPIPE, SIG_IGN);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, qmtproutes_default_port);
    tcase_add_test(tc, responses_per_recipient);
    tcase_add_test(tc, bad_responses_are_temporary);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
