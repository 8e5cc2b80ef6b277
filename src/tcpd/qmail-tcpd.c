/*
 * qmail-tcpd: accept TCP connections on one address and port and run a
 * server for each, with the ucspi-tcp environment (qmail-tcpd(8)).
 *
 * main() wires the modules in the order that matters:
 *   1. parse the command line (tcpd_conf.c), everything checked;
 *   2. bind (as root if the port needs it);
 *   3. drop privileges (-u/-g) for good;
 *   4. check, as the user the servers will run as, that the rules file
 *      and the program can be used, so a broken setup fails at once with
 *      one line instead of refusing every client;
 *   5. listen: from here on the port accepts connections, which is what
 *      qmailctl start waits for;
 *   6. the accept loop (tcpd_server.c).
 *
 * Trust: see tcpd_server.c and tcpd_child.c.  This process may start as
 * root; it parses nothing from the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tcpd.h"

/* Descriptors 0, 1 and 2 must be open, or an accepted socket could take
 * one of those numbers and become the daemon's log. */
static void std_fds(void)
{
    int fd;
    for (fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) == -1 &&
            open("/dev/null", O_RDWR) == -1)
            _exit(TCPD_EXIT_FAIL);
}

int main(int argc, char **argv)
{
    tcpd_conf c;
    dstr why = DSTR_ZERO;
    int fd;

    std_fds();
    log_init("qmail-tcpd");
    if (tcpd_conf_parse(argc, argv, &c) == -1)
        return TCPD_EXIT_USAGE;

    fd = tcpd_listen_bind(c.addr, c.port, &why);
    if (fd == -1)
        log_die(errno == EINVAL ? TCPD_EXIT_USAGE : TCPD_EXIT_FAIL, "%s",
                why.len ? why.s : "cannot bind");

    if (c.set_uid && tcpd_priv_drop(c.uid, c.gid, &why) == -1)
        log_die(TCPD_EXIT_FAIL, "cannot become uid %ld gid %ld: %s",
                (long)c.uid, (long)c.gid, why.len ? why.s : "failed");

    if (c.rules && tcpd_rules_check(c.rules) == -1) {
        if (errno == EINVAL || errno == EPROTO)
            log_die(TCPD_EXIT_FAIL, "%s: not a rules file made by "
                    "qmail-tcprules, or damaged; compile it again",
                    c.rules);
        if (errno == ENOENT)
            log_die(TCPD_EXIT_FAIL, "%s: no such rules file; compile it "
                    "with qmail-tcprules", c.rules);
        log_die_errno(TCPD_EXIT_FAIL, "%s: cannot read the rules", c.rules);
    }
    if (strchr(c.argv[0], '/') && access(c.argv[0], X_OK) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "%s: cannot run", c.argv[0]);

    if (listen(fd, c.backlog) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "%s port %u: cannot listen", c.addr,
                      c.port);
    if (c.verbosity >= 1)
        log_line("listening on %s port %u for %s: at most %zu sessions, "
                 "%zu per client%s%s", c.addr, c.port, c.argv[0], c.maxconn,
                 c.maxperip, c.rules ? ", rules " : "",
                 c.rules ? c.rules : "");
    dstr_free(&why);
    return tcpd_serve(&c, fd);
}
