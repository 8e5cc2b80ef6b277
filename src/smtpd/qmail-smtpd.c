/*
 * qmail-smtpd: the SMTP server (RFC 5321) for one connection on fd 0/1,
 * run by qmail-tcpd or ucspi-tcp's tcpserver.  See qmail-smtpd(8).
 *
 * main() only wires the modules: find the home, read the configuration,
 * run the session.  It holds no privilege (the listener already dropped
 * it) and writes nothing but the connection and its log on fd 2; messages
 * go to qmail-queue.
 *
 * Exit codes: 0 after a session (however it ended), 111 when it could not
 * serve at all (no home, unreadable configuration), after a 421 reply.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

/* Large buffers: static, not on the stack. */
static smtpd_io io;
static smtpd_session session;
static smtpd_conf conf;

static _Noreturn void die_unavailable(const char *why)
{
    static const char msg[] =
        "421 4.3.0 service temporarily unavailable; try again later\r\n";
    log_line("fatal: %s", why);
    (void)fd_write_all(1, msg, sizeof msg - 1, 10);
    _exit(111);
}

int main(int argc, char **argv)
{
    dstr err = DSTR_ZERO;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-smtpd");
    /* a client or qmail-queue that goes away is an error value, not a
     * signal */
    sig_ignore(SIGPIPE);
    if (qhome_chdir() == -1)
        die_unavailable("unable to enter the qmail home directory");
    if (smtpd_conf_load(&conf, &err) == -1)
        die_unavailable(err.len ? err.s : "unable to read the configuration");
    if (mailuser_init(conf.system_users) == -1)
        die_unavailable("unable to find the qmail home directory");
    /* the sandbox may run only the qmail-queue we run (qsandbox.h) */
    if (qsandbox_enter(&sandbox_smtpd) == -1)
        die_unavailable("unable to enter the sandbox");
    smtpd_io_init(&io, 0, 1, conf.timeout, conf.session_timeout);
    smtpd_session_init(&session, &conf, &io);
    smtpd_session_run(&session);
    smtpd_session_free(&session);
    smtpd_conf_free(&conf);
    dstr_free(&err);
    return 0;
}
