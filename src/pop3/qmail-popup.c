/*
 * qmail-popup: the POP3 server's front door.
 *
 *   qmail-popup HOST subprogram [args...]
 *
 * Run by qmail-tcpd (or tcpserver, inetd) with the client on fds 0 and 1.
 * It greets the client, reads USER and PASS and runs subprogram (a
 * checkpassword program such as qmail-checkpw, which then runs
 * qmail-pop3d as the mailbox owner) with the credentials on fd 3.  The
 * dialogue is in popup_session.c; this file only wires it up.
 *
 * Environment: $QMAILHOME (the instance: control files, and the table of
 * failed logins in run/pop3-failures), $TCPREMOTEIP (the client, for the
 * log and the per-address limit; without it, the peer of the socket on
 * fd 0).
 *
 * It splits in two at once (popup_auth.h): a child speaks POP3 with the
 * client, and only the parent, which parses nothing but the child's
 * bounded login records, keeps root (in a root-run instance) to run the
 * checkpassword program.  Started as root, the child drops to qmaild (or
 * nobody when there is no qmaild) with an empty capability bounding
 * set; in either case it then enters the qmail-popup sandbox
 * (sandbox.h).  See qmail-popup(8).
 *
 * It holds a password for a moment: core dumps are off and the process
 * is not dumpable (nor traceable by its user).
 *
 * Exit codes: 0 after a session, 2 for a bad command line, 111 when the
 * configuration cannot be read.
 *
 * Trust: the client is a stranger; the command line, the environment and
 * the control files are the administrator's.
 */
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "env.h"
#include "log.h"
#include "pop3_conf.h"
#include "popup_auth.h"
#include "popup_session.h"
#include "priv.h"
#include "qhome.h"
#include "sandbox.h"

static struct popup session;
static int drop_root;
static uid_t drop_uid;
static gid_t drop_gid;

static _Noreturn void child_fail(const char *what)
{
    static const char msg[] =
        "-ERR [SYS/TEMP] server error; try again later\r\n";
    log_errno("%s", what);
    if (write(1, msg, sizeof msg - 1) < 0) {
        /* the client is gone */
    }
    _exit(111);
}

/* In the child, before the first byte from the client is read. */
static void child_setup(void)
{
    if (drop_root && (sandbox_drop_bounding() == -1 ||
                      priv_drop(drop_uid, drop_gid) == -1))
        child_fail("unable to give up root");
    if (sandbox_enter(&sandbox_popup, qhome_dir(), 0, 0) == -1)
        child_fail("unable to enter the sandbox");
}

/* The uid the dialogue runs as when we are root: qmaild, else nobody. */
static int find_drop_ids(void)
{
    struct passwd *pw = getpwnam("qmaild");

    if (!pw)
        pw = getpwnam("nobody");
    if (!pw || pw->pw_uid == 0 || pw->pw_gid == 0)
        return -1;
    drop_uid = pw->pw_uid;
    drop_gid = pw->pw_gid;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct rlimit nocore = {0, 0};
    char why[512], tpath[4096], peer[64];
    const char *remote;
    int fd, n;

    log_init("qmail-popup");
    if (argc < 3) {
        log_line("usage: qmail-popup HOST subprogram [args...]");
        return 2;
    }
    /* no core file or debugger shows the passwords that pass through */
    if (setrlimit(RLIMIT_CORE, &nocore) == -1 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
        log_errno("unable to turn core dumps off");
        return 111;
    }
    /* fds 0..2 must be open, so that no pipe lands on them */
    for (fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1) {
            int nfd = open("/dev/null", O_RDWR);
            if (nfd != fd)
                return 111;
        }
    signal(SIGPIPE, SIG_IGN);
    /* waitpid() must see the checkpassword program's exit status, even if
     * whoever started us ignored SIGCHLD (ignoring survives exec) */
    signal(SIGCHLD, SIG_DFL);
    if (!popup_host_ok(argv[1])) {
        log_line("host name %s refused: use 1-255 printable characters "
                 "without spaces or <>", argv[1]);
        return 2;
    }
    if (pop3_conf_read(qhome_dir(), &session.conf, 0, why, sizeof why) ==
        -1) {
        static const char msg[] =
            "-ERR [SYS/TEMP] server configuration error; try again later\r\n";
        log_line("%s", why);
        if (write(1, msg, sizeof msg - 1) < 0) {
            /* the client is gone: nothing more to tell it */
        }
        return 111;
    }
    remote = env_get("TCPREMOTEIP");
    if ((!remote || !*remote) && popup_peer_address(0, peer, sizeof peer) == 0)
        remote = peer; /* inetd, systemd socket activation */
    n = snprintf(tpath, sizeof tpath, "%s/run/pop3-failures", qhome_dir());
    session.throttle_path = n > 0 && (size_t)n < sizeof tpath ? tpath : 0;
    session.remote = remote && *remote ? remote : "unknown";
    session.host = argv[1];
    session.subprogram = argv + 2;
    session.infd = 0;
    session.outfd = 1;
    if (geteuid() == 0 || getuid() == 0) {
        drop_root = 1;
        if (find_drop_ids() == -1) {
            log_line("no user qmaild or nobody (with a uid and gid other "
                     "than 0) to run the POP3 dialogue as");
            return 111;
        }
    }
    return popup_split_run(&session, child_setup);
}
