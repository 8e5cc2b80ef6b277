/*
 * ctl_proc.c: starting, watching and stopping service processes.
 *
 * A detached service runs in its own session (setsid), so that it is
 * untouched by the terminal qmailctl ran from, and so that SIGKILL to its
 * process group reaches the helpers it forked (qmail-lspawn, qmail-clean,
 * deliveries) when it would not stop by itself.
 *
 * Children get cwd = the instance and QMAILHOME = its absolute path.
 */
#include "ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "log.h"
#include "timeutil.h"

#define LOG_TAIL_LINES 10
#define LOG_TAIL_BYTES 65536

static void sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, 0);
}

/* ---- ports ---------------------------------------------------------------- */

static int port_bindable(const char *addr, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1, r;

    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        inet_pton(AF_INET6, addr, &a6->sin6_addr);
        len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, addr, &a4->sin_addr);
        len = sizeof *a4;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    r = bind(fd, (struct sockaddr *)&ss, len);
    close(fd);
    return r;
}

int ctl_ports_free(const dstr *root, const int *skip)
{
    size_t i;

    for (i = 0; i < ctl_nservices; i++) {
        const ctl_service *s = &ctl_services[i];
        dstr addr = DSTR_ZERO, path = DSTR_ZERO;
        unsigned port;
        int r;

        if (!s->portfile || !ctl_service_installed(s) || (skip && skip[i]))
            continue;
        if (ctl_service_port(s, root, &port, &addr) == -1) {
            dstr_free(&addr);
            return -1;
        }
        r = port_bindable(addr.s, port);
        if (r == -1)
            log_errno("%s: cannot listen on %s port %u (%s)", s->name,
                      addr.s, port, ctl_path(&path, root, s->portfile));
        dstr_free(&addr);
        dstr_free(&path);
        if (r == -1)
            return -1;
    }
    return 0;
}

/* ---- starting ------------------------------------------------------------- */

static const char *log_path(dstr *out, const ctl_service *s, const dstr *root)
{
    dstr rel = DSTR_ZERO;
    if (dstr_copys(&rel, "log/") == -1 || dstr_cats(&rel, s->name) == -1 ||
        dstr_cats(&rel, ".log") == -1 || dstr_cat0(&rel) == -1)
        ctl_nomem();
    ctl_path(out, root, rel.s);
    dstr_free(&rel);
    return out->s;
}

/* In the child: never returns. */
static _Noreturn void child_exec(const ctl_service *s, const dstr *root,
                                 const ctl_argv *av, int detached,
                                 int nullfd, int logfd, pid_t parent)
{
    envbuild env = ENVBUILD_ZERO;
    sigset_t none;
    int sig;

    /* undo what qmailctl may have changed for itself */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    for (sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    umask(022);

    if (setsid() == -1)
        log_die_errno(111, "%s: setsid", s->name);
    if (!detached) {
        /* run: the service must not outlive the qmailctl that runs it */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
            _exit(111);
    }
    if (dup2(nullfd, 0) == -1 ||
        (detached && (dup2(logfd, 1) == -1 || dup2(logfd, 2) == -1)))
        log_die_errno(111, "%s: cannot set up descriptors", s->name);
    if (chdir(root->s) == -1)
        log_die_errno(111, "%s: cannot chdir to %s", s->name, root->s);
    /* in a root install the servers run as qmaild, yet must know the
     * system accounts to check recipients as qmail-lspawn will */
    if (envbuild_init(&env, 1) == -1 ||
        envbuild_set(&env, "QMAILHOME", root->s) == -1 ||
        (ctl_system() &&
         envbuild_set(&env, "QMAILSMTPD_SYSTEMUSERS", "1") == -1))
        log_die_errno(111, "%s: cannot build environment", s->name);
    execve(av->vec[0], av->vec, env.vec);
    log_die_errno(111, "%s: cannot run %s", s->name, av->vec[0]);
}

pid_t ctl_spawn(const ctl_service *s, const dstr *root, const ctl_argv *av,
                int detached, long long *logpos)
{
    dstr lpath = DSTR_ZERO;
    int nullfd, logfd = -1;
    pid_t pid = -1, parent = getpid();
    struct stat st;

    nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nullfd == -1) {
        log_errno("/dev/null: cannot open");
        return -1;
    }
    if (detached) {
        log_path(&lpath, s, root);
        logfd = open(lpath.s, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                                  O_NOCTTY, 0640);
        if (logfd == -1 || fstat(logfd, &st) == -1) {
            log_errno("%s: cannot open log file", lpath.s);
            goto out;
        }
        ctl_own(lpath.s);
        if (logpos)
            *logpos = (long long)st.st_size;
    }
    fflush(stdout);
    pid = fork();
    if (pid == -1) {
        log_errno("%s: cannot fork", s->name);
        goto out;
    }
    if (pid == 0)
        child_exec(s, root, av, detached, nullfd, logfd, parent);
    if (ctl_pidfile_write(s, root, pid) == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, 0, 0);
        pid = -1;
    }
out:
    close(nullfd);
    if (logfd != -1)
        close(logfd);
    dstr_free(&lpath);
    return pid;
}

/* Print the last lines service s wrote to its log since offset from. */
static void show_log_tail(const ctl_service *s, const dstr *root,
                          long long from)
{
    dstr path = DSTR_ZERO, buf = DSTR_ZERO;
    struct stat st;
    size_t start, i;
    int fd, lines = 0;
    ssize_t n;

    log_path(&path, s, root);
    fd = open(path.s, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &st) == -1)
        goto out;
    if (st.st_size - from > LOG_TAIL_BYTES)
        from = st.st_size - LOG_TAIL_BYTES;
    if (from < 0 || st.st_size <= from)
        goto none;
    if (dstr_reserve(&buf, (size_t)(st.st_size - from)) == -1)
        ctl_nomem();
    n = pread(fd, buf.s, (size_t)(st.st_size - from), (off_t)from);
    if (n <= 0)
        goto none;
    buf.len = (size_t)n;
    while (buf.len && buf.s[buf.len - 1] == '\n')
        buf.len--;
    if (!buf.len)
        goto none;
    start = 0;
    for (i = buf.len; i > 0; i--)
        if (buf.s[i - 1] == '\n' && ++lines == LOG_TAIL_LINES) {
            start = i;
            break;
        }
    fprintf(stderr, "last lines of %s:\n", path.s);
    fprintf(stderr, "  ");
    for (i = start; i < buf.len; i++) {
        fputc(buf.s[i], stderr);
        if (buf.s[i] == '\n')
            fprintf(stderr, "  ");
    }
    fprintf(stderr, "\n");
    goto out;
none:
    fprintf(stderr, "(%s has nothing new)\n", path.s);
out:
    if (fd != -1)
        close(fd);
    dstr_free(&path);
    dstr_free(&buf);
}

static void describe_exit(dstr *out, int status)
{
    if (WIFEXITED(status)) {
        if (dstr_catf(out, "exited with status %d", WEXITSTATUS(status)) == -1)
            ctl_nomem();
    } else if (WIFSIGNALED(status)) {
        if (dstr_catf(out, "was killed by signal %d", WTERMSIG(status)) == -1)
            ctl_nomem();
    }
    if (dstr_cat0(out) == -1)
        ctl_nomem();
}

int ctl_wait_up(const ctl_service *s, const dstr *root, pid_t pid,
                long long logpos, int timeout_ms)
{
    int64_t deadline = time_mono_ms() + timeout_ms;
    int status, up;
    dstr why = DSTR_ZERO;

    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            describe_exit(&why, status);
            log_line("%s did not start: %s", s->name, why.s);
            ctl_pidfile_remove(s, root);
            break;
        }
        up = ctl_service_up(s, root);
        if (up == 1)
            return 0;
        if (up == -1) {
            ctl_stop_service(s, root, pid, 2000);
            break;
        }
        if (time_mono_ms() >= deadline) {
            if (s->lockfile)
                log_line("%s did not start within %d s (no lock on %s/%s)",
                         s->name, timeout_ms / 1000, root->s, s->lockfile);
            else
                log_line("%s did not start within %d s (its port accepts "
                         "no connections)", s->name, timeout_ms / 1000);
            ctl_stop_service(s, root, pid, 2000);
            break;
        }
        sleep_ms(50);
    }
    show_log_tail(s, root, logpos);
    dstr_free(&why);
    return -1;
}

/* ---- stopping ------------------------------------------------------------- */

/* Gone when the process is gone (or a zombie) and, for the delivery side,
 * its lock is free.  We reap it if it is our own child. */
static int stopped(const ctl_service *s, const dstr *root, pid_t pid)
{
    waitpid(pid, 0, WNOHANG);
    if (ctl_pid_alive(pid))
        return 0;
    return !s->lockfile || ctl_service_up(s, root) == 0;
}

static int wait_stopped(const ctl_service *s, const dstr *root, pid_t pid,
                        int timeout_ms)
{
    int64_t deadline = time_mono_ms() + timeout_ms;
    while (!stopped(s, root, pid)) {
        if (time_mono_ms() >= deadline)
            return -1;
        sleep_ms(50);
    }
    return 0;
}

int ctl_stop_service(const ctl_service *s, const dstr *root, pid_t pid,
                     int timeout_ms)
{
    if (kill(pid, SIGTERM) == -1 && errno != ESRCH) {
        log_errno("%s: cannot signal pid %ld", s->name, (long)pid);
        return -1;
    }
    if (wait_stopped(s, root, pid, timeout_ms) == 0) {
        ctl_pidfile_remove(s, root);
        return 0;
    }
    log_line("%s (pid %ld) did not stop within %d s; killing it", s->name,
             (long)pid, timeout_ms / 1000);
    if (getpgid(pid) == pid)
        kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    if (wait_stopped(s, root, pid, 5000) == -1) {
        log_line("%s (pid %ld) still runs after SIGKILL", s->name, (long)pid);
        return -1;
    }
    ctl_pidfile_remove(s, root);
    return 0;
}
