/*
 * spawn.c: the spawners' event loop.  See spawn.h.
 * Requests come from qmail-send (trusted, still bounded); reports come
 * from delivery programs that read mail (bounded, never interpreted here).
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bio.h"
#include "log.h"
#include "num.h"
#include "sig.h"
#include "timeutil.h"

static spawn_job jobs[SPAWN_MAX];
static const struct spawn_ops *ops;
static dstr outq = DSTR_ZERO;

pid_t spawn_fork(spawn_job *j)
{
    int pi[2];
    pid_t pid;

    if (pipe2(pi, O_CLOEXEC) == -1) {
        snprintf(j->prefail, sizeof j->prefail, "unable to create pipe: %s",
                 strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        snprintf(j->prefail, sizeof j->prefail, "unable to fork: %s",
                 strerror(errno));
        close(pi[0]);
        close(pi[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        if (dup2(pi[1], 1) == -1 ||
            (ops->report_stderr && dup2(pi[1], 2) == -1))
            _exit(111);
        close(pi[0]);
        close(pi[1]);
        return 0;
    }
    close(pi[1]);
    fcntl(pi[0], F_SETFL, O_NONBLOCK);
    j->pid = pid;
    j->outfd = pi[0];
    j->deadline_ms = time_mono_ms() + (int64_t)ops->timeout * 1000;
    return pid;
}

static void finish(spawn_job *j)
{
    char num[NUM_FMT_ULONG];
    size_t n = num_fmt_ulong(num, j->num);

    if (dstr_catb(&outq, num, n + 1) == -1)
        log_die(111, "fatal: out of memory");
    ops->reply(j, &outq);
    dstr_free(&j->out);
    j->used = 0;
}

/* Write what qmail-send will take now (fd 1 is non-blocking). */
static void flush_replies(void)
{
    while (outq.len) {
        ssize_t w = write(1, outq.s, outq.len);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            log_die_errno(111, "fatal: unable to write to qmail-send");
        }
        memmove(outq.s, outq.s + w, outq.len - (size_t)w);
        outq.len -= (size_t)w;
    }
}

static void start(unsigned long long num, char **f)
{
    spawn_job *j = 0;
    int i;

    for (i = 0; i < SPAWN_MAX; i++)
        if (!jobs[i].used) {
            j = &jobs[i];
            break;
        }
    if (!j) {
        static spawn_job busy;
        memset(&busy, 0, sizeof busy);
        busy.num = num;
        snprintf(busy.prefail, sizeof busy.prefail,
                 "too many concurrent deliveries");
        busy.exited = 1;
        busy.outfd = -1;
        finish(&busy);
        return;
    }
    memset(j, 0, sizeof *j);
    j->used = 1;
    j->num = num;
    j->outfd = -1;
    ops->start(j, f);
    if (j->pid <= 0) { /* failed before a child ran */
        j->exited = 1;
        j->exited_ms = time_mono_ms();
    }
}

static void reap(void)
{
    int status, i;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (i = 0; i < SPAWN_MAX; i++)
            if (jobs[i].used && jobs[i].pid == pid) {
                jobs[i].exited = 1;
                jobs[i].status = status;
                jobs[i].exited_ms = time_mono_ms();
            }
}

static void read_report(spawn_job *j)
{
    char buf[4096];
    for (;;) {
        ssize_t r = read(j->outfd, buf, sizeof buf);
        if (r > 0) {
            size_t keep = j->out.len < ops->report_max
                              ? ops->report_max - j->out.len
                              : 0;
            if ((size_t)r < keep)
                keep = (size_t)r;
            if (keep && dstr_catb(&j->out, buf, keep) == -1)
                log_die(111, "fatal: out of memory");
            continue;
        }
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;
        close(j->outfd);
        j->outfd = -1;
        return;
    }
}

/* Kill jobs past their deadline; stop waiting for reports of children
 * that exited but left something holding the pipe. */
static void enforce_limits(void)
{
    int64_t now = time_mono_ms();
    int i;

    for (i = 0; i < SPAWN_MAX; i++) {
        spawn_job *j = &jobs[i];
        if (!j->used)
            continue;
        if (!j->exited && !j->timed_out && j->pid > 0 &&
            now >= j->deadline_ms) {
            j->timed_out = 1;
            kill(-j->pid, SIGKILL);
            kill(j->pid, SIGKILL);
        }
        if (j->exited && j->outfd != -1 && now - j->exited_ms > 5000) {
            close(j->outfd);
            j->outfd = -1;
        }
    }
}

_Noreturn void spawn_main(const struct spawn_ops *o)
{
    static struct pollfd pfd[SPAWN_MAX + 3];
    static int pslot[SPAWN_MAX + 3];
    char inbuf[8192];
    bio in;
    dstr f[SPAWN_FIELDS];
    char *fs[SPAWN_FIELDS];
    int nf = 0, input_open = 1, sigfd, i;

    ops = o;
    memset(f, 0, sizeof f);
    signal(SIGPIPE, SIG_IGN);
    sigfd = sig_selfpipe_init();
    if (sigfd == -1 || sig_selfpipe_catch(SIGCHLD) == -1)
        log_die_errno(111, "fatal: signal setup");
    bio_init(&in, 0, inbuf, sizeof inbuf, 0);
    fcntl(0, F_SETFL, O_NONBLOCK);
    fcntl(1, F_SETFL, O_NONBLOCK);

    for (;;) {
        int n = 0, busy = 0;

        reap();
        for (i = 0; i < SPAWN_MAX; i++)
            if (jobs[i].used) {
                if (jobs[i].exited && jobs[i].outfd == -1)
                    finish(&jobs[i]);
                else
                    busy = 1;
            }
        flush_replies();
        if (!input_open && !busy && outq.len == 0)
            _exit(0);
        enforce_limits();

        pfd[n].fd = sigfd;
        pfd[n].events = POLLIN;
        pslot[n++] = -1;
        if (input_open) {
            pfd[n].fd = 0;
            pfd[n].events = POLLIN;
            pslot[n++] = -2;
        }
        if (outq.len) {
            pfd[n].fd = 1;
            pfd[n].events = POLLOUT;
            pslot[n++] = -3;
        }
        for (i = 0; i < SPAWN_MAX; i++)
            if (jobs[i].used && jobs[i].outfd != -1) {
                pfd[n].fd = jobs[i].outfd;
                pfd[n].events = POLLIN;
                pslot[n++] = i;
            }
        /* a buffered request needs no poll: handle it right away */
        if (in.pos == in.len && poll(pfd, (nfds_t)n, 1000) == -1) {
            if (errno != EINTR)
                log_die_errno(111, "fatal: poll");
            continue;
        }
        while (sig_selfpipe_read())
            ;
        for (i = 0; i < n; i++)
            if (pslot[i] >= 0 &&
                (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                read_report(&jobs[pslot[i]]);
        /* requests: read as many complete fields as are available */
        while (input_open) {
            int toolong = 0, r;
            if (in.pos == in.len) {
                long got = bio_fill(&in);
                if (got == -1 && errno == EAGAIN)
                    break;
                if (got <= 0) {
                    input_open = 0;
                    break;
                }
            }
            r = bio_getsep(&in, &f[nf], 0, ops->field_max, &toolong);
            if (f[nf].len > ops->field_max)
                log_die(111, "fatal: request field too long");
            if (r == -1 && errno == EAGAIN)
                break;
            if (r <= 0) {
                input_open = 0;
                break;
            }
            if (f[nf].s[f[nf].len - 1] != 0)
                continue; /* partial field: the rest comes next read */
            if (toolong)
                log_die(111, "fatal: request field too long");
            if (++nf == SPAWN_FIELDS) {
                unsigned long long num;
                if (num_scan_ulong_str(f[0].s, &num) == -1)
                    log_die(111, "fatal: bad request from qmail-send");
                for (nf = 0; nf < SPAWN_FIELDS; nf++)
                    fs[nf] = f[nf].s;
                start(num, fs);
                for (nf = 0; nf < SPAWN_FIELDS; nf++)
                    f[nf].len = 0;
                nf = 0;
            }
        }
    }
}
