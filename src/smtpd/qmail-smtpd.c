/*
 * qmail-smtpd: the SMTP server (RFC 5321) for one connection on fd 0/1,
 * run by qmail-tcpd or ucspi-tcp's tcpserver.  See qmail-smtpd(8).
 *
 * main() only wires the modules: find the home, read the configuration,
 * run the session.  It holds no privilege (the listener already dropped
 * it) and writes nothing but the connection and its log on fd 2; messages
 * go to qmail-queue.
 *
 * Started by qmail-tcpd -R as a reused server (smtpd_worker.h), it reads
 * the configuration and enters the sandbox once, then serves one
 * connection after another: each gets its own environment, session,
 * deadlines and early-talker wait, and the control files are read again
 * when one of them changed.
 *
 * Exit codes: 0 after a session (however it ended) or when qmail-tcpd
 * lets a worker go, 111 when it could not serve at all (no home,
 * unreadable configuration, a bad message from qmail-tcpd), after a 421
 * reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bio.h"
#include "dstr.h"
#include "env.h"
#include "log.h"
#include "mailuser.h"
#include "qhome.h"
#include "qqueue.h"
#include "qsandbox.h"
#include "sig.h"
#include "smtpd_conf.h"
#include "smtpd_io.h"
#include "smtpd_session.h"
#include "smtpd_worker.h"

/* Large buffers: static, not on the stack. */
static smtpd_io io;
static smtpd_session session;
static smtpd_conf conf;
static smtpd_worker worker;

static _Noreturn void die_unavailable(const char *why)
{
    static const char msg[] =
        "421 4.3.0 service temporarily unavailable; try again later\r\n";
    log_line("fatal: %s", why);
    (void)fd_write_all(1, msg, sizeof msg - 1, 10);
    _exit(111);
}

/* One session on fds 0 and 1. */
static void serve(void)
{
    smtpd_io_init(&io, 0, 1, conf.timeout, conf.session_timeout);
    smtpd_session_init(&session, &conf, &io);
    smtpd_session_run(&session);
    smtpd_session_free(&session);
}

/* A connection this worker cannot serve: 421 on it, then exit 111. */
static _Noreturn void die_worker(int fd, const char *why)
{
    if (fd >= 0 && dup2(fd, 1) == -1)
        _exit(111);
    die_unavailable(why);
}

/* Reused by qmail-tcpd, after the first session: connection after
 * connection until it closes the control socket.  Everything per connection is set up anew: the
 * environment (smtpd_worker_next), its part of the configuration, the
 * session and its I/O state, deadlines and the early-talker wait. */
static _Noreturn void worker_loop(int devnull, dstr *err)
{
    for (;;) {
        int fd, r;

        /* the connection ends here: fds 0 and 1 back on /dev/null */
        if (dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1)
            _exit(111);
        /* qmail-queue is always reaped by qqueue; this is belt and
         * braces, so no child can outlive its session unnoticed */
        while (waitpid(-1, 0, WNOHANG) > 0)
            ;
        if (smtpd_worker_done(&worker) == -1)
            _exit(0); /* qmail-tcpd is gone */
        r = smtpd_worker_next(&worker, &fd);

        if (r == 0)
            _exit(0);
        if (r == -1) {
            log_errno("fatal: no connection from qmail-tcpd");
            _exit(111);
        }
        if (smtpd_conf_changed(&conf)) {
            smtpd_conf_free(&conf);
            if (smtpd_conf_load(&conf, err) == -1)
                die_worker(fd, err->len ? err->s
                                        : "unable to read the configuration");
        } else if (smtpd_conf_env(&conf, err) == -1) {
            die_worker(fd, err->len ? err->s : "bad environment");
        }
        if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
            die_worker(-1, "unable to set up the connection");
        close(fd);
        serve();
    }
}

int main(int argc, char **argv)
{
    dstr err = DSTR_ZERO;
    int devnull = -1, reused;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-smtpd");
    /* a client or qmail-queue that goes away is an error value, not a
     * signal */
    sig_ignore(SIGPIPE);
    if (qhome_chdir() == -1)
        die_unavailable("unable to enter the qmail home directory");
    /* after qhome_chdir: every session's environment starts from ours
     * now, with $QMAILHOME made absolute for qmail-queue */
    reused = smtpd_worker_init(&worker);
    if (reused == -1)
        die_unavailable("bad " SMTPD_WORKER_ENV);
    if (reused &&
        (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
        die_unavailable("unable to open /dev/null");
    if (smtpd_conf_load(&conf, &err) == -1)
        die_unavailable(err.len ? err.s : "unable to read the configuration");
    if (mailuser_init(conf.system_users) == -1)
        die_unavailable("unable to find the qmail home directory");
    /* the sandbox may run only the qmail-queue we run (qsandbox.h) */
    if (qsandbox_enter(&sandbox_smtpd) == -1)
        die_unavailable("unable to enter the sandbox");
    /* the first (or only) session: fds 0 and 1, our environment */
    serve();
    if (reused == 1)
        worker_loop(devnull, &err);
    smtpd_conf_free(&conf);
    dstr_free(&err);
    return 0;
}
