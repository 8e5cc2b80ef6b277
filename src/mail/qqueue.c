/*
 * qqueue.c: run qmail-queue (or reach qmail-queued) for one message.  See
 * qqueue.h.  Trusts qmail-queue's exit code (or qmail-queued's one byte)
 * and nothing else about it.
 */
#include "qqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "env.h"
#include "qhome.h"
#include "sig.h"
#include "timeutil.h"

/* how long to wait for room in a busy qmail-queued's backlog when the
 * caller has no timeout of its own */
#define QQUEUE_CONNECT_WAIT 120

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

static int never_hold;

void qqueue_never_hold(void) { never_hold = 1; }

/* 1 if prog is our own qmail-queue, the one qmail-queued stands in for */
static int is_own_queue(const char *prog)
{
    const char *bindir = qhome_bindir();
    size_t n = strlen(bindir);

    return *bindir && strncmp(prog, bindir, n) == 0 &&
           strcmp(prog + n, "/qmail-queue") == 0;
}

/* Connect to qmail-queued.  Returns the socket, -2 when it is not there
 * (missing, refusing, unreachable: run qmail-queue instead), or -1 with
 * errno (its backlog stayed full past the deadline). */
static int queued_connect(int timeout)
{
    struct sockaddr_un sa;
    const char *home = qhome_dir();
    size_t hl = strlen(home), sl = strlen(QQUEUE_SOCK);
    int64_t deadline =
        time_mono_ms() +
        (int64_t)(timeout > 0 ? timeout : QQUEUE_CONNECT_WAIT) * 1000;
    int fd, fl;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (hl + 1 + sl >= sizeof sa.sun_path)
        return -2; /* a home too long for a socket path: run qmail-queue */
    memcpy(sa.sun_path, home, hl);
    sa.sun_path[hl] = '/';
    memcpy(sa.sun_path + hl + 1, QQUEUE_SOCK, sl);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return -2;
    for (;;) {
        struct timespec ts = {0, 20 * 1000000L};
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) { /* ENOENT, ECONNREFUSED, EACCES...: absent */
            close(fd);
            return -2;
        }
        /* its backlog is full: it is busy, not gone */
        if (time_mono_ms() >= deadline) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        nanosleep(&ts, 0);
    }
    fl = fcntl(fd, F_GETFL);
    if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Hand the message to qmail-queued.  Returns 0, 1 when it is not there
 * (run qmail-queue), -1 with errno. */
static int queued_start(qqueue *q)
{
    int msg[2] = {-1, -1}, env[2] = {-1, -1}, fds[2], saved;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof fds)];
    } ctl;
    struct msghdr mh;
    struct iovec iov;
    char hello = never_hold ? QQUEUE_HELLO_NOHOLD : QQUEUE_HELLO;
    struct cmsghdr *c;
    ssize_t r;
    int s = queued_connect(q->timeout);

    if (s == -2)
        return 1;
    if (s == -1)
        return -1;
    if (pipe2(msg, O_CLOEXEC) == -1 || pipe2(env, O_CLOEXEC) == -1)
        goto fail;
    fds[0] = msg[0];
    fds[1] = env[0];
    memset(&ctl, 0, sizeof ctl);
    memset(&mh, 0, sizeof mh);
    iov.iov_base = &hello;
    iov.iov_len = 1;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof ctl.buf;
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    do
        r = sendmsg(s, &mh, MSG_NOSIGNAL);
    while (r == -1 && errno == EINTR);
    if (r != 1) {
        /* it closed on us (stopping): qmail-queue instead */
        close_fd(&msg[0]);
        close_fd(&msg[1]);
        close_fd(&env[0]);
        close_fd(&env[1]);
        close(s);
        return 1;
    }
    /* only qmail-queued's child reads them now: when we go, it sees end
     * of file on both and queues nothing */
    close_fd(&msg[0]);
    close_fd(&env[0]);
    q->sock = s;
    q->pid = -1;
    q->qp = getpid(); /* until the child tells its own */
    q->envfd = env[1];
    bio_init(&q->msg, msg[1], q->buf, sizeof q->buf, q->timeout);
    return 0;
fail:
    saved = errno;
    close_fd(&msg[0]);
    close_fd(&msg[1]);
    close_fd(&env[0]);
    close_fd(&env[1]);
    close(s);
    errno = saved;
    return -1;
}

int qqueue_start(qqueue *q, const char *prog, int timeout)
{
    int msg[2] = {-1, -1}, env[2] = {-1, -1}, err[2] = {-1, -1};
    int child_errno = 0, saved;
    ssize_t r;
    pid_t pid;

    q->pid = q->qp = -1;
    q->pidfd = q->envfd = q->sock = -1;
    q->failed = 0;
    q->timeout = timeout;
    /* A caller without a deadline (qmail-inject reading from a pipe or a
     * person, qmail-local) runs qmail-queue itself: qmail-queued gives
     * each message control/timeoutqueue at most, qmail-queue a day. */
    if (timeout > 0 && is_own_queue(prog)) {
        int d = queued_start(q);
        if (d <= 0)
            return d;
    }
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
    q->pid = q->qp = pid;
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

/* qmail-queued's answer: the code, then (if it comes) the child's pid,
 * which becomes q->qp.  The child closes after it, so reading to 5 bytes
 * or end of file waits for nothing more. */
static int queued_reply(qqueue *q)
{
    unsigned char reply[5];
    size_t have = 0;
    int e = 0;

    while (have < sizeof reply) {
        long got = fd_read_timeout(q->sock, reply + have,
                                   sizeof reply - have, q->timeout);
        if (got <= 0) {
            e = got == -1 ? errno : 0;
            break;
        }
        have += (size_t)got;
    }
    close_fd(&q->sock);
    if (have == 0) /* closed without an answer: its child died (a crash) */
        return e == ETIMEDOUT ? QQUEUE_TIMEOUT : QQUEUE_WAITERR;
    if (have == sizeof reply) {
        unsigned long p = (unsigned long)reply[1] << 24 |
                          (unsigned long)reply[2] << 16 |
                          (unsigned long)reply[3] << 8 | reply[4];
        if (p > 0 && p <= 0x7fffffffUL)
            q->qp = (pid_t)p;
    }
    return reply[0];
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
    if (q->sock >= 0)
        return queued_reply(q);
    return reap(q, deadline);
}

void qqueue_abort(qqueue *q)
{
    int status;

    if (q->sock >= 0)
        q->pid = -1; /* our own: qmail-queued's child sees the end */
    if (q->pid > 0) {
        kill(q->pid, SIGKILL);
        while (waitpid(q->pid, &status, 0) == -1 && errno == EINTR)
            ;
    }
    q->pid = -1;
    close_fd(&q->msg.fd);
    close_fd(&q->envfd);
    close_fd(&q->pidfd);
    close_fd(&q->sock);
    q->failed = 1;
}
