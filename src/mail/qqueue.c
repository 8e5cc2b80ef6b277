/*
 * qqueue.c: run qmail-queue for one message.  See qqueue.h.
 * Trusts qmail-queue's exit code and nothing else about it.
 */
#include "qqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "env.h"
#include "qhome.h"
#include "sig.h"
#include "timeutil.h"

int qqueue_mini(void)
{
    dstr path = DSTR_ZERO, list = DSTR_ZERO;
    int r;

    if (dstr_cats(&path, qhome_dir()) == -1 ||
        dstr_cats(&path, "/control/qmqpservers") == -1 ||
        dstr_cat0(&path) == -1) {
        dstr_free(&path);
        return -1;
    }
    r = control_readlist(path.s, &list);
    dstr_free(&path);
    if (r == -1 && errno != ENOMEM)
        r = 1; /* unreadable: qmail-qmqpc says so, and queues nothing */
    else if (r == 1)
        r = list_first(&list) != 0;
    dstr_free(&list);
    return r;
}

int qqueue_default_program(dstr *out)
{
    const char *bindir = qhome_bindir();
    int mini;

    out->len = 0;
    if (!*bindir) {
        errno = ENOENT;
        return -1;
    }
    mini = qqueue_mini();
    if (mini == -1)
        return -1;
    if (dstr_cats(out, bindir) == -1 ||
        dstr_cats(out, mini ? "/qmail-qmqpc" : "/qmail-queue") == -1)
        return -1;
    return dstr_cat0(out);
}

int qqueue_program(dstr *out)
{
    const char *q = env_get("QMAILQUEUE");

    out->len = 0;
    if (q && *q) {
        /* relative to $QMAILHOME, our working directory */
        if (dstr_cats(out, q) == -1)
            return -1;
        return dstr_cat0(out);
    }
    return qqueue_default_program(out);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int qqueue_start(qqueue *q, const char *prog, int timeout)
{
    int msg[2] = {-1, -1}, env[2] = {-1, -1}, err[2] = {-1, -1};
    int child_errno = 0, saved;
    ssize_t r;
    pid_t pid;

    q->pid = -1;
    q->pidfd = q->envfd = -1;
    q->failed = 0;
    q->timeout = timeout;
    if (pipe2(msg, O_CLOEXEC) == -1 || pipe2(env, O_CLOEXEC) == -1 ||
        pipe2(err, O_CLOEXEC) == -1)
        goto fail;
    pid = fork();
    if (pid == -1)
        goto fail;
    if (pid == 0) {
        char *argv[2];
        int e;
        /* dup2 clears close-on-exec on 0 and 1; the client's socket, which
         * was there, is gone from the child */
        if (dup2(msg[0], 0) == -1 || dup2(env[0], 1) == -1) {
            e = errno;
            (void)!write(err[1], &e, sizeof e);
            _exit(120);
        }
        sig_default(SIGPIPE); /* ignored signals survive exec */
        argv[0] = (char *)prog;
        argv[1] = 0;
        execv(prog, argv);
        e = errno;
        (void)!write(err[1], &e, sizeof e);
        _exit(120);
    }
    close_fd(&msg[0]);
    close_fd(&env[0]);
    close_fd(&err[1]);
    do
        r = read(err[0], &child_errno, sizeof child_errno);
    while (r == -1 && errno == EINTR);
    close_fd(&err[0]);
    if (r == (ssize_t)sizeof child_errno) {
        while (waitpid(pid, 0, 0) == -1 && errno == EINTR)
            ;
        close_fd(&msg[1]);
        close_fd(&env[1]);
        errno = child_errno;
        return -1;
    }
    q->pid = pid;
    q->pidfd = pidfd_open(pid, 0); /* -1 (old kernel): waitpid, no limit */
    if (q->pidfd >= 0)
        (void)fcntl(q->pidfd, F_SETFD, FD_CLOEXEC);
    q->envfd = env[1];
    bio_init(&q->msg, msg[1], q->buf, sizeof q->buf, timeout);
    return 0;
fail:
    saved = errno;
    close_fd(&msg[0]);
    close_fd(&msg[1]);
    close_fd(&env[0]);
    close_fd(&env[1]);
    close_fd(&err[0]);
    close_fd(&err[1]);
    errno = saved;
    return -1;
}

void qqueue_put(qqueue *q, const void *data, size_t n)
{
    if (q->failed || n == 0)
        return;
    if (bio_put(&q->msg, data, n) == -1)
        q->failed = 1;
}

/* Reap the child within the deadline (pidfd), else kill it.  Returns the
 * exit status as finish() does. */
static int reap(qqueue *q, int64_t deadline)
{
    int status;
    pid_t r;

    if (q->pidfd >= 0 && q->timeout > 0) {
        for (;;) {
            struct pollfd p;
            int64_t left = deadline - time_mono_ms();
            int n;
            if (left <= 0) {
                kill(q->pid, SIGKILL);
                while (waitpid(q->pid, &status, 0) == -1 && errno == EINTR)
                    ;
                close_fd(&q->pidfd);
                q->pid = -1;
                return QQUEUE_TIMEOUT;
            }
            p.fd = q->pidfd;
            p.events = POLLIN;
            p.revents = 0;
            n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
            if (n > 0)
                break;
            if (n == -1 && errno != EINTR)
                break; /* fall back to waiting */
        }
        close_fd(&q->pidfd);
    }
    do
        r = waitpid(q->pid, &status, 0);
    while (r == -1 && errno == EINTR);
    q->pid = -1;
    if (r == -1)
        return QQUEUE_WAITERR;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return QQUEUE_CRASHED + WTERMSIG(status);
    return QQUEUE_WAITERR;
}

int qqueue_finish(qqueue *q, const char *env, size_t n)
{
    int64_t deadline = time_mono_ms() + (int64_t)q->timeout * 1000;

    if (!q->failed && bio_flush(&q->msg) == -1)
        q->failed = 1;
    close_fd(&q->msg.fd);
    /* with the message incomplete, no envelope: qmail-queue then refuses
     * it (and its exit code says why it stopped reading, if it did) */
    if (!q->failed && fd_write_all(q->envfd, env, n, q->timeout) == -1)
        q->failed = 1;
    close_fd(&q->envfd);
    return reap(q, deadline);
}

void qqueue_abort(qqueue *q)
{
    int status;

    if (q->pid > 0) {
        kill(q->pid, SIGKILL);
        while (waitpid(q->pid, &status, 0) == -1 && errno == EINTR)
            ;
    }
    q->pid = -1;
    close_fd(&q->msg.fd);
    close_fd(&q->envfd);
    close_fd(&q->pidfd);
    q->failed = 1;
}
