/*
 * qmail-pop3d: serve one Maildir to a POP3 client after its login.
 *
 *   qmail-pop3d maildir
 *
 * Run by a checkpassword program (qmail-checkpw) as the mailbox owner, in
 * the owner's home directory, with the client on fds 0 and 1 and the
 * client's PASS still unanswered.  maildir is relative to the home (or
 * absolute).  The protocol is in pop3d_session.c, the Maildir in
 * pop3_maildir.c; this file wires them up.
 *
 * It refuses to run as root: nothing that reads mail runs as root.
 *
 * Exit codes: 0 once the client was answered (whatever happened after),
 * so that qmail-popup says nothing more; 111 before that (the Maildir
 * cannot be opened, running as root), and qmail-popup then tells the
 * client to try again later; 2 for a bad command line.
 *
 * Environment: $USER and $TCPREMOTEIP for the log, $QMAILHOME for
 * control/timeoutpop3d.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "env.h"
#include "log.h"
#include "pop3_conf.h"
#include "pop3d_session.h"
#include "qhome.h"
#include "sandbox.h"

static struct pop3d session;

int main(int argc, char **argv)
{
    struct pop3_conf conf;
    const char *user, *remote;
    char why[512];

    log_init("qmail-pop3d");
    if (argc != 2 || !argv[1][0]) {
        log_line("usage: qmail-pop3d maildir");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    user = env_get("USER");
    remote = env_get("TCPREMOTEIP");
    session.user = user && *user ? user : "?";
    session.remote = remote && *remote ? remote : "unknown";
    if (getuid() == 0 || geteuid() == 0) {
        log_line("user %s: refusing to serve a mailbox as root",
                 session.user);
        return 111;
    }
    /* tolerant: the mailbox owner may not be allowed to read control/ */
    pop3_conf_read(qhome_dir(), &conf, 1, why, sizeof why);
    session.timeout = conf.timeout;
    if (chdir(argv[1]) == -1) {
        log_errno("user %s: unable to enter the Maildir %s", session.user,
                  argv[1]);
        return 111;
    }
    /* from here on: this Maildir and nothing else (sandbox.h); the
     * switch is read from the instance, if we may read it */
    if (sandbox_enter(&sandbox_pop3d, qhome_dir(), 0, 0) == -1) {
        log_line("user %s: unable to enter the sandbox", session.user);
        return 111;
    }
    if (pop3_box_scan(&session.box, POP3_BOX_MAX) == -1) {
        log_errno("user %s: unable to read the Maildir %s", session.user,
                  argv[1]);
        return 111;
    }
    log_line("login: user %s from %s: %lu messages%s", session.user,
             session.remote, (unsigned long)session.box.n,
             session.box.skipped ? " (more are left for later sessions)"
                                 : "");
    if (session.box.unreadable)
        log_line("user %s: %lu unreadable files in the Maildir skipped",
                 session.user, (unsigned long)session.box.unreadable);
    session.infd = 0;
    session.outfd = 1;
    return pop3d_run(&session);
}
