/*
 * qmtpd_main.c: the start of qmail-qmtpd and qmail-qmqpd, one connection
 * on fd 0/1 (see qmtpd_main.h).
 *
 * It wires the modules: find the home, read the configuration, enter the
 * sandbox, run the session (qmtpd_qmtp.c or qmtpd_qmqp.c).  It holds no
 * privilege (the listener already dropped it) and writes nothing but the
 * connection and its log on fd 2; messages go to qmail-queue.
 */
#include <signal.h>
#include <unistd.h>

#include "dstr.h"
#include "log.h"
#include "mailuser.h"
#include "qhome.h"
#include "qmtpd_conf.h"
#include "qmtpd_main.h"
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

int qmtpd_main(const char *name, int qmtp)
{
    dstr err = DSTR_ZERO;

    log_init(name);
    sig_ignore(SIGPIPE);
    if (qhome_chdir() == -1)
        die_unavailable("unable to enter the qmail home directory");
    if (qmtpd_conf_load(&conf, &err) == -1)
        die_unavailable(err.len ? err.s : "unable to read the configuration");
    /* QMTP checks recipients as qmail-smtpd does; QMQP trusts its
     * clients */
    if (qmtp && mailuser_init(conf.system_users) == -1)
        die_unavailable("unable to find the qmail home directory");
    if (qsandbox_enter(&sandbox_qmtpd) == -1)
        die_unavailable("unable to enter the sandbox");
    qmtpd_in_init(&in, 0, conf.timeout, conf.session_timeout);
    if (qmtp)
        qmtpd_qmtp_run(&conf, &in, 1);
    else
        qmtpd_qmqp_run(&conf, &in, 1);
    qmtpd_conf_free(&conf);
    dstr_free(&err);
    return 0;
}
