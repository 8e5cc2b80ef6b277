/*
 * qmail-qmqpc: hand a message to a QMQP server instead of the local
 * queue (mini-qmail).
 *
 * Interface (qmail-queue's, so every program that runs qmail-queue can
 * run this instead): the message on fd 0, then the envelope on fd 1
 * ("F" sender NUL, "T" recipient NUL ..., NUL); the exit code is the
 * verdict (qmail-queue(8), qmail-qmqpc(8)).
 *
 * Steps: read control/qmqpservers and the timeouts; spool the message
 * behind a Received line into a memory file; read and check the
 * envelope; then offer the message to each server in turn:
 *
 *   K         accepted: exit 0
 *   D         refused for good: exit 31, no other server is asked
 *   Z         refused for now: remembered, the next server is asked
 *   no answer (cannot connect, lost, timed out, a malformed reply):
 *             the next server is asked
 *
 * When no server took it: exit 71 if one said Z, else 56 (55 if no line
 * of control/qmqpservers was usable).  A server that took the message but
 * whose K was lost makes the next one get it too: a duplicate, never a
 * loss.
 *
 * Trust: the message and envelope come from any local user and are
 * checked like qmail-queue checks them; the servers' replies are bounded
 * and only reach log lines.  Runs as the caller and writes no file.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "control.h"
#include "date822.h"
#include "dstr.h"
#include "log.h"
#include "qhome.h"
#include "qmqpc_input.h"
#include "qmqpc_send.h"
#include "qmqpc_server.h"
#include "queue.h"

#define QMQPC_DEADLINE (24 * 3600) /* like qmail-queue: a whole run */

static _Noreturn void die(int code, const char *what)
{
    log_line("fatal: %s: %s", what, queue_exit_text(code));
    _exit(code);
}

static _Noreturn void die_errno(int code, const char *what)
{
    log_errno("fatal: %s: %s", what, queue_exit_text(code));
    _exit(code);
}

static void on_alarm(int sig)
{
    (void)sig;
    _exit(QQ_TIMEOUT);
}

/* control/NAME as a timeout in seconds, clamped to 1..86400. */
static int timeout_control(const char *path, unsigned long long def)
{
    unsigned long long v;

    if (control_readulong(path, &v, def) == -1)
        die_errno(QQ_CONFIG, path);
    if (v < 1)
        v = 1;
    if (v > 86400)
        v = 86400;
    return (int)v;
}

int main(int argc, char **argv)
{
    dstr servers = DSTR_ZERO, head = DSTR_ZERO, env = DSTR_ZERO;
    dstr text = DSTR_ZERO;
    qmqpc_job job;
    struct timeval tv;
    const char *line, *why;
    size_t nrcpts, lineno = 0;
    int code, usable = 0, temp = 0;

    (void)argc;
    log_init(argv[0] && strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1
             : argv[0] ? argv[0]
                       : "qmail-qmqpc");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(QMQPC_DEADLINE);

    if (qhome_chdir() == -1)
        die_errno(QQ_HOME, qhome_dir());
    if (control_readlist("control/qmqpservers", &servers) == -1)
        die_errno(QQ_CONFIG, "control/qmqpservers");
    if (!list_first(&servers))
        die(QQ_CONFIG, "control/qmqpservers lists no server");
    memset(&job, 0, sizeof job);
    job.timeoutconnect = timeout_control("control/timeoutconnect", 60);
    job.timeout = timeout_control("control/timeoutremote", 1200);

    gettimeofday(&tv, 0);
    if (dstr_catf(&head, "Received: (qmail-qmqpc %ld invoked by uid %ld); ",
                  (long)getpid(), (long)getuid()) == -1 ||
        date822_cat(&head, tv.tv_sec) == -1 || dstr_catc(&head, '\n') == -1)
        die(QQ_NOMEM, "Received line");
    code = qmqpc_spool(0, &head, &job.msgfd, &job.msglen);
    if (code)
        die_errno(code, code == QQ_READ ? "read message" : "spool message");
    code = qmqpc_envelope(1, &env, &nrcpts, &why);
    if (code)
        die(code, why);
    if (nrcpts == 0)
        _exit(QQ_OK); /* like qmail-queue: nothing to deliver, done */
    job.envelope = &env;

    for (line = list_first(&servers); line;
         line = list_next(&servers, line)) {
        qmqpc_server srv;
        int r;

        lineno++;
        if (qmqpc_server_parse(line, &srv) == -1) {
            log_line("control/qmqpservers: line %zu is not an address "
                     "[:port]: skipped", lineno);
            continue;
        }
        usable = 1;
        r = qmqpc_send(&srv, &job, &text);
        if (r == -1)
            die(QQ_NOMEM, "QMQP");
        if (dstr_cat0(&text) == -1)
            die(QQ_NOMEM, "QMQP");
        if (r == 'K')
            _exit(QQ_OK);
        if (r == 'D') {
            log_line("%s refused the message: %s", srv.name, text.s);
            _exit(QQ_PERM_REFUSED);
        }
        if (r == 'Z') {
            temp = 1;
            log_line("%s deferred the message: %s", srv.name, text.s);
        } else {
            log_line("%s: %s", srv.name, text.s);
        }
    }
    if (temp)
        _exit(QQ_TEMP_REFUSED);
    if (!usable)
        die(QQ_CONFIG, "control/qmqpservers has no usable line");
    log_line("no QMQP server took the message");
    _exit(QQ_NETWORK);
}
