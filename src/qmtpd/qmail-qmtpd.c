/*
 * qmail-qmtpd: the QMTP server for one connection on fd 0/1, run by
 * qmail-tcpd or ucspi-tcp's tcpserver.  See qmail-qmtpd(8).
 *
 * main() only wires the modules: find the home, read the configuration,
 * run the session (qmtpd_qmtp.c).  It holds no privilege (the listener
 * already dropped it) and writes nothing but the connection and its log on
 * fd 2; messages go to qmail-queue.
 *
 * Exit codes: 0 after a session (however it ended), 111 when it could not
 * serve at all (no home, unreadable configuration), after one Z reply.
 */
#include <signal.h>
#include <unistd.h>

#include "dstr.h"
#include "log.h"
#include "mailuser.h"
#include "qhome.h"
#include "qmtpd_conf.h"
#include "qsandbox.h"
#include "qmtpd_io.h"
#include "qmtpd_pkg.h"
#include "qmtpd_session.h"
#include "sig.h"

static qmtpd_conf conf;
static qmtpd_in in;

static _Noreturn void die_unavailable(const char *why)
{
    dstr r = DSTR_ZERO;

    log_line("fatal: %s", why);
    /* the client counts a missing reply as temporary anyway; one Z says
     * why (it arrives before the package ends: the server may close at
     * any time) */
    if (qmtpd_reply_cat(&r, 'Z', "service temporarily unavailable; try "
                                 "again later") == 0)
        (void)qmtpd_write(1, r.s, r.len, 10);
    _exit(111);
}

int main(int argc, char **argv)
{
    dstr err = DSTR_ZERO;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-qmtpd");
    sig_ignore(SIGPIPE);
    if (qhome_chdir() == -1)
        die_unavailable("unable to enter the qmail home directory");
    if (qmtpd_conf_load(&conf, &err) == -1)
        die_unavailable(err.len ? err.s : "unable to read the configuration");
    if (mailuser_init(conf.system_users) == -1)
        die_unavailable("unable to find the qmail home directory");
    if (qsandbox_enter(&sandbox_qmtpd) == -1)
        die_unavailable("unable to enter the sandbox");
    qmtpd_in_init(&in, 0, conf.timeout, conf.session_timeout);
    qmtpd_qmtp_run(&conf, &in, 1);
    qmtpd_conf_free(&conf);
    dstr_free(&err);
    return 0;
}
