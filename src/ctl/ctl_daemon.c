/*
 * ctl_daemon.c: `qmailctl start|stop|status|flush DIR`.
 *
 * start: refuses when any service of the instance runs; checks every port
 *   and builds every command line before starting anything; starts the
 *   installed services in table order, each detached with its log in
 *   log/NAME.log, and waits until each is up.  If one fails, those already
 *   started are stopped again: all or nothing.  Exit 0 only when all run.
 * stop: SIGTERM to each running service in reverse order, then waits up
 *   to 30 s before SIGKILL.  The queue is kept.  Not running is fine.
 * status: one line per service; exit 0 if all run, 3 if any does not,
 *   4 if DIR is not an instance (LSB init-script codes).
 * flush: SIGALRM to qmail-send: retry every queued delivery now.
 */
#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qhome.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 30000
/* another start or stop may take its 30 s: wait a little longer */
#define LOCK_TIMEOUT_MS 45000

static int one_dir(int argc, char **argv, const char *cmd, const char **dir)
{
    ctl_args a;

    if (ctl_args_parse(argc, argv, 0, &a) == -1)
        return -1;
    if (a.npos != 1) {
        log_line("usage: qmailctl %s DIR", cmd);
        return -1;
    }
    *dir = a.pos[0];
    return 0;
}

int ctl_cmd_start(int argc, char **argv)
{
    ctl_instance in = {DSTR_ZERO};
    ctl_argv av[CTL_SERVICES_MAX];
    pid_t pids[CTL_SERVICES_MAX];
    int running[CTL_SERVICES_MAX] = {0};
    const char *dir;
    size_t i, started = 0;
    int r = CTL_FAIL, lockfd;

    memset(av, 0, sizeof av);
    if (one_dir(argc, argv, "start", &dir) == -1)
        return CTL_USAGE;
    if (ctl_instance_open(&in, dir) == -1)
        return CTL_FAIL;
    if (ctl_system_check(&in.root) == -1) {
        ctl_instance_free(&in);
        return CTL_FAIL;
    }
    lockfd = ctl_lock(&in.root, LOCK_TIMEOUT_MS);
    if (lockfd == -1)
        goto out;
    /* Start what is not running; refuse only when everything runs (or
     * something is half way between starting and stopping). */
    {
        size_t installed = 0, up = 0;
        for (i = 0; i < ctl_nservices; i++) {
            ctl_state st;
            if (ctl_service_state(&ctl_services[i], &in.root, &st) == -1)
                goto out;
            if (st.busy) {
                log_line("%s: %s (pid %ld) is starting or stopping; try "
                         "again in a moment",
                         in.root.s, ctl_services[i].name, (long)st.pid);
                goto out;
            }
            if (!ctl_service_installed(&ctl_services[i]))
                continue;
            installed++;
            if (st.running) {
                running[i] = 1;
                pids[i] = st.pid;
                up++;
            }
        }
        if (installed && up == installed) {
            log_line("%s: already running; stop it first with: qmailctl "
                     "stop %s",
                     in.root.s, dir);
            goto out;
        }
    }
    if (!ctl_service_installed(&ctl_services[0])) {
        log_line("%s/%s: not found; build it with make", qhome_bindir(),
                 ctl_services[0].program);
        goto out;
    }
    for (i = 0; i < ctl_nservices; i++) {
        ctl_state st;
        /* forget pid files of services that are gone */
        if (ctl_service_state(&ctl_services[i], &in.root, &st) == 0 &&
            st.stale)
            ctl_pidfile_remove(&ctl_services[i], &in.root);
        if (!running[i] && ctl_service_installed(&ctl_services[i]) &&
            ctl_service_argv(&ctl_services[i], &in.root, &av[i]) == -1)
            goto out;
    }
    if (ctl_ports_free(&in.root, running) == -1)
        goto out;

    for (i = 0; i < ctl_nservices; i++) {
        const ctl_service *s = &ctl_services[i];
        long long logpos = 0;
        if (!av[i].n)
            continue;
        pids[i] = ctl_spawn(s, &in.root, &av[i], 1, &logpos);
        if (pids[i] == -1 ||
            ctl_wait_up(s, &in.root, pids[i], logpos, START_TIMEOUT_MS) == -1)
            goto undo;
        started = i + 1;
    }
    for (i = 0; i < ctl_nservices; i++)
        if (av[i].n)
            printf("%s: started (pid %ld)\n", ctl_services[i].name,
                   (long)pids[i]);
        else if (running[i])
            printf("%s: already running (pid %ld)\n", ctl_services[i].name,
                   (long)pids[i]);
    r = CTL_OK;
    goto out;
undo:
    while (started > 0) {
        i = --started;
        if (av[i].n)
            ctl_stop_service(&ctl_services[i], &in.root, pids[i],
                             STOP_TIMEOUT_MS);
    }
    log_line("%s: not started", in.root.s);
out:
    fflush(stdout);
    if (lockfd != -1)
        close(lockfd);
    for (i = 0; i < ctl_nservices; i++)
        ctl_argv_free(&av[i]);
    ctl_instance_free(&in);
    return r;
}

int ctl_cmd_stop(int argc, char **argv)
{
    ctl_instance in = {DSTR_ZERO};
    const char *dir;
    size_t i;
    int r = CTL_OK, lockfd;

    if (one_dir(argc, argv, "stop", &dir) == -1)
        return CTL_USAGE;
    if (ctl_instance_open(&in, dir) == -1)
        return CTL_FAIL;
    lockfd = ctl_lock(&in.root, LOCK_TIMEOUT_MS);
    if (lockfd == -1) {
        ctl_instance_free(&in);
        return CTL_FAIL;
    }
    for (i = ctl_nservices; i-- > 0;) {
        const ctl_service *s = &ctl_services[i];
        ctl_state st;

        if (ctl_service_state(s, &in.root, &st) == -1) {
            r = CTL_FAIL;
            continue;
        }
        if (!st.running && !st.busy) {
            if (st.stale) {
                ctl_pidfile_remove(s, &in.root);
                printf("%s: was not running (removed its stale pid file)\n",
                       s->name);
            } else if (ctl_service_installed(s)) {
                printf("%s: not running\n", s->name);
            }
            continue;
        }
        if (!st.pid) {
            log_line("%s: %s runs but %s/run/%s.pid does not name it; "
                     "stop it by hand", in.root.s, s->name, in.root.s,
                     s->name);
            r = CTL_FAIL;
            continue;
        }
        if (ctl_stop_service(s, &in.root, st.pid, STOP_TIMEOUT_MS) == -1) {
            r = CTL_FAIL;
            continue;
        }
        printf("%s: stopped (pid %ld)\n", s->name, (long)st.pid);
    }
    fflush(stdout);
    close(lockfd);
    ctl_instance_free(&in);
    return r;
}

int ctl_cmd_status(int argc, char **argv)
{
    ctl_instance in = {DSTR_ZERO};
    const char *dir;
    size_t i;
    int r = CTL_OK, shown = 0;

    if (one_dir(argc, argv, "status", &dir) == -1)
        return CTL_USAGE;
    if (ctl_instance_open(&in, dir) == -1)
        return CTL_UNKNOWN;
    for (i = 0; i < ctl_nservices; i++) {
        const ctl_service *s = &ctl_services[i];
        ctl_state st;

        if (ctl_service_state(s, &in.root, &st) == -1) {
            r = CTL_UNKNOWN;
            continue;
        }
        if (!ctl_service_installed(s) && !st.running)
            continue;
        shown++;
        if (st.running && st.pid)
            printf("%s: running (pid %ld)\n", s->name, (long)st.pid);
        else if (st.running)
            printf("%s: running (pid unknown: no pid file)\n", s->name);
        else if (st.busy)
            printf("%s: starting or stopping (pid %ld)\n", s->name,
                   (long)st.pid);
        else if (st.stale)
            printf("%s: stopped (stale pid file)\n", s->name);
        else
            printf("%s: stopped\n", s->name);
        if (!st.running && r == CTL_OK)
            r = CTL_STOPPED;
    }
    if (!shown) {
        printf("no services: %s has none of their programs\n",
               *qhome_bindir() ? qhome_bindir() : "bin/");
        if (r == CTL_OK)
            r = CTL_STOPPED;
    }
    fflush(stdout);
    ctl_instance_free(&in);
    return r;
}

int ctl_cmd_flush(int argc, char **argv)
{
    ctl_instance in = {DSTR_ZERO};
    const ctl_service *s = &ctl_services[0];
    const char *dir;
    ctl_state st;
    int r = CTL_FAIL;

    if (one_dir(argc, argv, "flush", &dir) == -1)
        return CTL_USAGE;
    if (ctl_instance_open(&in, dir) == -1)
        return CTL_FAIL;
    if (ctl_service_state(s, &in.root, &st) == -1)
        goto out;
    if (!st.running) {
        log_line("%s: %s is not running; nothing to flush (start it with: "
                 "qmailctl start %s)", in.root.s, s->name, dir);
        goto out;
    }
    if (!st.pid) {
        log_line("%s: %s runs but %s/run/%s.pid does not name it", in.root.s,
                 s->name, in.root.s, s->name);
        goto out;
    }
    if (kill(st.pid, SIGALRM) == -1) {
        log_errno("%s: cannot signal pid %ld", s->name, (long)st.pid);
        goto out;
    }
    printf("%s (pid %ld): retrying queued deliveries now\n", s->name,
           (long)st.pid);
    r = CTL_OK;
out:
    fflush(stdout);
    ctl_instance_free(&in);
    return r;
}
