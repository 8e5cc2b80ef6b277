/*
 * ctl_run.c: `qmailctl run DIR` runs the instance in the foreground.
 *
 * The services log to our stderr (the terminal).  They run in their own
 * session, so Ctrl-C reaches only qmailctl, which turns the first SIGINT or
 * SIGTERM into a SIGTERM to every service (qmail-send then finishes the
 * deliveries in progress and exits 0) and a second one into SIGKILL.
 * SIGHUP (reread control files) and SIGALRM (retry now) are passed on as
 * they are.  If qmailctl dies, the kernel sends SIGTERM to the services
 * (PR_SET_PDEATHSIG).  pid files are written as for start, so status, stop
 * and flush work from another terminal.
 *
 * Exit status: that of qmail-send (or of the first service that exited
 * on its own), 128+N if it was killed by signal N.
 */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "qhome.h"
#include "sig.h"

#define NSERV CTL_SERVICES_MAX

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return CTL_FAIL;
}

int ctl_cmd_run(int argc, char **argv)
{
    ctl_instance in = {DSTR_ZERO};
    ctl_argv av[NSERV];
    pid_t pids[NSERV];
    int alive[NSERV], announced[NSERV];
    const char *dir;
    ctl_args a;
    size_t i, nalive = 0;
    int sigfd, stopping = 0, result = -1, r = CTL_FAIL, lockfd;

    memset(av, 0, sizeof av);
    memset(alive, 0, sizeof alive);
    memset(announced, 0, sizeof announced);
    if (ctl_args_parse(argc, argv, 0, &a) == -1)
        return CTL_USAGE;
    if (a.npos != 1) {
        log_line("usage: qmailctl run DIR");
        return CTL_USAGE;
    }
    dir = a.pos[0];
    if (ctl_instance_open(&in, dir) == -1)
        return CTL_FAIL;
    if (ctl_system_check(&in.root) == -1) {
        ctl_instance_free(&in);
        return CTL_FAIL;
    }
    /* held while we check and spawn, so a concurrent start cannot race */
    lockfd = ctl_lock(&in.root, 45000);
    if (lockfd == -1)
        goto out;
    for (i = 0; i < ctl_nservices; i++) {
        ctl_state st;
        if (ctl_service_state(&ctl_services[i], &in.root, &st) == -1)
            goto out;
        if (st.running || st.busy) {
            log_line("%s: %s is already running%s; stop it first with: "
                     "qmailctl stop %s", in.root.s, ctl_services[i].name,
                     st.busy ? " (or stopping)" : "", dir);
            goto out;
        }
        if (st.stale)
            ctl_pidfile_remove(&ctl_services[i], &in.root);
    }
    if (!ctl_service_installed(&ctl_services[0])) {
        log_line("%s/%s: not found; build it with make", qhome_bindir(),
                 ctl_services[0].program);
        goto out;
    }
    for (i = 0; i < ctl_nservices; i++)
        if (ctl_service_installed(&ctl_services[i]) &&
            ctl_service_argv(&ctl_services[i], &in.root, &av[i]) == -1)
            goto out;
    if (ctl_ports_free(&in.root, 0) == -1)
        goto out;

    sigfd = sig_selfpipe_init();
    if (sigfd == -1 || sig_selfpipe_catch(SIGINT) == -1 ||
        sig_selfpipe_catch(SIGTERM) == -1 || sig_selfpipe_catch(SIGHUP) == -1 ||
        sig_selfpipe_catch(SIGALRM) == -1 || sig_selfpipe_catch(SIGCHLD) == -1) {
        log_errno("cannot set up signal handling");
        goto out;
    }

    log_line("running %s in the foreground; Ctrl-C stops it", in.root.s);
    for (i = 0; i < NSERV; i++) {
        if (!av[i].n)
            continue;
        pids[i] = ctl_spawn(&ctl_services[i], &in.root, &av[i], 0, 0);
        if (pids[i] == -1) {
            stopping = 1;
            result = CTL_FAIL;
            break;
        }
        alive[i] = 1;
        nalive++;
    }
    close(lockfd);
    lockfd = -1;
    if (stopping)
        for (i = 0; i < NSERV; i++)
            if (alive[i])
                kill(pids[i], SIGTERM);

    while (nalive > 0) {
        struct pollfd pfd = {sigfd, POLLIN, 0};
        int sig, status;
        pid_t w;

        poll(&pfd, 1, 200);
        while ((sig = sig_selfpipe_read()) != 0) {
            if (sig == SIGINT || sig == SIGTERM) {
                if (!stopping) {
                    log_line("stopping (again to kill at once)");
                    for (i = 0; i < NSERV; i++)
                        if (alive[i])
                            kill(pids[i], SIGTERM);
                } else {
                    log_line("killing");
                    for (i = 0; i < NSERV; i++)
                        if (alive[i]) {
                            kill(-pids[i], SIGKILL);
                            kill(pids[i], SIGKILL);
                        }
                }
                stopping++;
            } else if (sig == SIGHUP || sig == SIGALRM) {
                for (i = 0; i < NSERV; i++)
                    if (alive[i])
                        kill(pids[i], sig);
            }
        }
        while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
            for (i = 0; i < NSERV; i++) {
                if (!alive[i] || pids[i] != w)
                    continue;
                alive[i] = 0;
                nalive--;
                ctl_pidfile_remove(&ctl_services[i], &in.root);
                if (!stopping) {
                    log_line("%s exited on its own (status %d); stopping the "
                             "others", ctl_services[i].name, exit_code(status));
                    stopping = 1;
                    for (size_t j = 0; j < NSERV; j++)
                        if (alive[j])
                            kill(pids[j], SIGTERM);
                }
                if (result == -1 || i == 0)
                    result = exit_code(status);
            }
        }
        for (i = 0; i < NSERV && !stopping; i++)
            if (alive[i] && !announced[i] &&
                ctl_service_up(&ctl_services[i], &in.root) == 1) {
                announced[i] = 1;
                log_line("%s is up (pid %ld)", ctl_services[i].name,
                         (long)pids[i]);
            }
    }
    r = result == -1 ? CTL_FAIL : result;
out:
    if (lockfd != -1)
        close(lockfd);
    for (i = 0; i < NSERV; i++)
        ctl_argv_free(&av[i]);
    ctl_instance_free(&in);
    return r;
}
