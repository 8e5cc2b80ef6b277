/*
 * tcpd_child.c: what a child of qmail-tcpd does between fork and exec.
 *
 * Descriptor 0 reads from the connection and 1 writes to it; 2 stays the
 * daemon's log.  Every other descriptor is closed, whatever its flags, so
 * the server sees nothing of the daemon (listening socket, self-pipe,
 * other clients).  Signals are back to their defaults and unblocked.
 *
 * Trust: the rule's variables were checked by tcpd_verdict_parse; the
 * addresses come from the kernel.  The program runs with the uid the
 * daemon dropped to (-u) or the daemon's own.
 */
#include "tcpd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "num.h"

extern char **environ;

int tcpd_child_env(envbuild *e, const tcpd_session *s, const char *localhost,
                   const char *remotehost)
{
    char num[NUM_FMT_ULONG];
    size_t i = 0;

    if (envbuild_set(e, "PROTO", s->remote.family == 4 ? "TCP" : "TCP6") ==
            -1 ||
        envbuild_set(e, "TCPLOCALIP", s->local_ip) == -1 ||
        (num_fmt_ulong(num, s->local_port),
         envbuild_set(e, "TCPLOCALPORT", num) == -1) ||
        envbuild_set(e, "TCPREMOTEIP", s->remote_ip) == -1 ||
        (num_fmt_ulong(num, s->remote_port),
         envbuild_set(e, "TCPREMOTEPORT", num) == -1) ||
        (localhost ? envbuild_set(e, "TCPLOCALHOST", localhost)
                   : envbuild_unset(e, "TCPLOCALHOST")) == -1 ||
        (remotehost ? envbuild_set(e, "TCPREMOTEHOST", remotehost)
                    : envbuild_unset(e, "TCPREMOTEHOST")) == -1 ||
        envbuild_unset(e, "TCPREMOTEINFO") == -1)
        return -1;
    /* the rule's variables come last: they may set TCPLOCALHOST or
     * TCPREMOTEHOST, never the five above (refused when compiled and
     * when read) */
    while (i < s->verdict.varslen) {
        const char *entry = s->verdict.vars + i;
        size_t len = strlen(entry);
        const char *eq = memchr(entry, '=', len);
        char name[TCPD_RULE_NAME_MAX + 1];
        size_t nlen;
        if (!eq)
            break;
        nlen = (size_t)(eq - entry);
        if (nlen > TCPD_RULE_NAME_MAX) {
            errno = EINVAL;
            return -1;
        }
        memcpy(name, entry, nlen);
        name[nlen] = 0;
        if (envbuild_setb(e, name, eq + 1, len - nlen - 1) == -1)
            return -1;
        i += len + 1;
    }
    return 0;
}

int tcpd_child_env_removes(const char *name)
{
    /* what tcpd_child_env takes out of every server's environment (and
     * may set again, per connection) */
    return strcmp(name, "TCPLOCALHOST") == 0 ||
           strcmp(name, "TCPREMOTEHOST") == 0 ||
           strcmp(name, "TCPREMOTEINFO") == 0;
}

/* The descriptor limit we started with, for the servers, when
 * tcpd_fd_room raised ours. */
static struct rlimit nofile_orig;
static int nofile_raised;

size_t tcpd_fd_room(size_t need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return need;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)need)
        return need;
    nofile_orig = rl;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (rlim_t)need)
        rl.rlim_cur = (rlim_t)need;
    else
        rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        return (size_t)nofile_orig.rlim_cur;
    nofile_raised = 1;
    return (size_t)rl.rlim_cur;
}

/* A server starts with the limit qmail-tcpd was given, not ours. */
static void nofile_restore(void)
{
    if (nofile_raised && setrlimit(RLIMIT_NOFILE, &nofile_orig) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "pid %ld: cannot restore the "
                      "descriptor limit", (long)getpid());
}

static void close_others(void)
{
    struct rlimit rl;
    int fd, max = 65536;

    if (close_range(3, ~0U, 0) == 0)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)INT_MAX)
        max = (int)rl.rlim_cur;
    for (fd = 3; fd < max; fd++)
        close(fd);
}

void tcpd_child_run(const tcpd_conf *c, tcpd_session *s)
{
    envbuild env = ENVBUILD_ZERO;
    dstr host = DSTR_ZERO;
    sigset_t none;
    int sig, have_host = 0;

    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);

    if (dup2(s->fd, 0) == -1 || dup2(s->fd, 1) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "pid %ld: cannot set up descriptors",
                      (long)getpid());
    close_others();
    nofile_restore();
    /* the environment is copied before the lookup, which sets
     * RES_OPTIONS for itself */
    if (envbuild_init(&env, 1) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "pid %ld: cannot build environment",
                      (long)getpid());
    if (c->dns)
        have_host = tcpd_dns_remote_host(&s->remote, c->dns_timeout, &host);
    if (tcpd_child_env(&env, s, c->localhost, have_host ? host.s : 0) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "pid %ld: cannot build environment",
                      (long)getpid());
    execvpe(c->argv[0], c->argv, env.vec);
    log_die_errno(TCPD_EXIT_FAIL, "pid %ld: cannot run %s", (long)getpid(),
                  c->argv[0]);
}

void tcpd_child_worker(const tcpd_conf *c, tcpd_session *s, int ctl)
{
    envbuild env = ENVBUILD_ZERO;
    sigset_t none;
    int sig;
    char num[NUM_FMT_ULONG];

    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);

    /* 0 and 1: the first connection; 2: the daemon's log; 3: the socket
     * to us (not close-on-exec) */
    if (dup2(s->fd, 0) == -1 || dup2(s->fd, 1) == -1 ||
        (ctl == TCPD_WORKER_FD ? fcntl(ctl, F_SETFD, 0)
                               : dup2(ctl, TCPD_WORKER_FD)) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "worker pid %ld: cannot set up "
                      "descriptors", (long)getpid());
    if (close_range(TCPD_WORKER_FD + 1, ~0U, 0) == -1) {
        int fd;
        for (fd = TCPD_WORKER_FD + 1; fd < 65536; fd++)
            close(fd);
    }
    nofile_restore();
    num_fmt_ulong(num, TCPD_WORKER_FD);
    if (envbuild_init(&env, 1) == -1 ||
        tcpd_child_env(&env, s, c->localhost, 0) == -1 ||
        envbuild_set(&env, TCPD_WORKER_ENV, num) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "worker pid %ld: cannot build "
                      "environment", (long)getpid());
    execvpe(c->argv[0], c->argv, env.vec);
    log_die_errno(TCPD_EXIT_FAIL, "worker pid %ld: cannot run %s",
                  (long)getpid(), c->argv[0]);
}
