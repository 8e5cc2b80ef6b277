/*
 * tcpd_worker.c: reused servers (-R N), the pool of qmail-tcpd.
 *
 * A worker is the program started for a connection exactly as a fresh
 * server (tcpd_child_worker: descriptors 0 and 1, the whole environment)
 * plus a SOCK_SEQPACKET socket as descriptor 3 and QMAIL_TCPD_WORKER=3.
 * Its first message says what its environment has beyond the listener's
 * ("B", then NAME=VALUE "\0" for our value of each variable the
 * connection set, or NAME "\0" when we have none), so it can start the
 * next session from the listener's environment.  Each later message
 * carries a connection (SCM_RIGHTS) and the record of the variables its
 * environment sets ("C" NAME=VALUE "\0" ...).  The worker answers one
 * byte 'D' when a session is over.  A program that knows nothing of this
 * serves its first connection and exits, like a fresh server.  qmail-tcpd(8)
 * "Reused servers" is the program's side of it.
 *
 * Workers are made on demand, one per connection when none is idle, and
 * never before: a program that dies at start cannot make us spin.  A
 * worker is let go (its socket closed: it exits at end of file) after N
 * sessions, when more are idle than half the busy ones (at least
 * TCPD_IDLE_MIN), when it was idle for TCPD_IDLE_MS, or after SIGHUP
 * (tcpd_pool_retire_all).  The limits stay
 * the accept loop's: a busy worker is one session in the table under its
 * pid.  A worker that dies, whatever the cause, is reaped like any child;
 * only the session it held is lost.
 *
 * Lookups scan the pool (busy + idle workers, at most the -c limit plus
 * the few being let go); connection rates make that cheap next to a fork.
 *
 * Trust: our own children, which run with the servers' uid and read
 * input from strangers: what they send back is one byte, and anything
 * else, or too much of it, lets the worker go.
 */
#include "tcpd.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"

/* Variables read only when a process starts (our own QMAIL*, the dynamic
 * linker's LD_*, glibc's tunables and malloc settings): a connection
 * whose rule sets one gets a fresh process. */
static int name_is_process_wide(const char *entry, size_t len)
{
    return (len >= 5 && memcmp(entry, "QMAIL", 5) == 0) ||
           (len >= 3 && memcmp(entry, "LD_", 3) == 0) ||
           (len >= 14 && memcmp(entry, "GLIBC_TUNABLES", 14) == 0) ||
           (len >= 7 && memcmp(entry, "MALLOC_", 7) == 0);
}

int tcpd_pool_eligible(const tcpd_conf *c, const tcpd_session *s)
{
    size_t i = 0;

    if (c->reuse <= 1 || c->dns)
        return 0;
    while (i < s->verdict.varslen) {
        const char *entry = s->verdict.vars + i;
        size_t len = strlen(entry);
        if (name_is_process_wide(entry, len))
            return 0;
        i += len + 1;
    }
    return 1;
}

void tcpd_pool_init(tcpd_pool *p, const tcpd_conf *c)
{
    memset(p, 0, sizeof *p);
    p->conf = c;
    p->rec = (dstr)DSTR_ZERO;
    p->base = (dstr)DSTR_ZERO;
}

static tcpd_worker *find_pid(tcpd_pool *p, pid_t pid)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        if (p->w[i].pid == pid)
            return &p->w[i];
    return 0;
}

/* Close our end: the worker exits when it next waits for a connection. */
static void let_go(tcpd_pool *p, tcpd_worker *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->state == TCPD_W_IDLE)
        p->idle--;
    w->state = TCPD_W_LEAVING;
}

static int send_conn(tcpd_worker *w, const dstr *rec, int fd);

/* What the worker's environment at start has beyond ours: for each
 * variable the record sets, our value ("NAME=VALUE") or none ("NAME"),
 * so the worker can take the first connection's variables out again.
 * The variables tcpd_child_env removes from every server's environment
 * are none even when we have them. */
static int make_base_record(tcpd_pool *p)
{
    dstr *b = &p->base;
    size_t i = 1;

    b->len = 0;
    if (dstr_catc(b, 'B') == -1)
        return -1;
    while (i < p->rec.len) {
        const char *entry = p->rec.s + i;
        size_t len = strlen(entry);
        const char *eq = memchr(entry, '=', len);
        size_t nlen = eq ? (size_t)(eq - entry) : len;
        char name[TCPD_RULE_NAME_MAX + 1];
        const char *v;
        if (nlen > TCPD_RULE_NAME_MAX) {
            errno = EINVAL;
            return -1;
        }
        memcpy(name, entry, nlen);
        name[nlen] = 0;
        /* what no server gets from us (a rule gave it to the first
         * connection): none, as for a fresh server */
        v = tcpd_child_env_removes(name) ? 0 : getenv(name);
        if (dstr_catb(b, name, nlen) == -1 ||
            (v && (dstr_catc(b, '=') == -1 || dstr_cats(b, v) == -1)) ||
            dstr_catc(b, 0) == -1)
            return -1;
        i += len + 1;
    }
    if (b->len > TCPD_WORKER_REC_MAX) {
        errno = E2BIG;
        return -1;
    }
    return 0;
}

/* A new worker for session s, which it serves first on descriptors 0
 * and 1 exactly as a fresh server would (so a program that knows nothing
 * of reuse serves it and exits). */
static tcpd_worker *spawn(tcpd_pool *p, tcpd_session *s)
{
    sigset_t block, old;
    int sv[2];
    pid_t pid;
    tcpd_worker *w;

    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        tcpd_worker *nw = realloc(p->w, ncap * sizeof *nw);
        if (!nw)
            return 0;
        p->w = nw;
        p->cap = ncap;
    }
    if (make_base_record(p) == -1)
        return 0;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
        return 0;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid = fork();
    if (pid == 0)
        tcpd_child_worker(p->conf, s, sv[1]);
    sigprocmask(SIG_SETMASK, &old, 0);
    close(sv[1]);
    if (pid == -1) {
        int saved = errno;
        close(sv[0]);
        errno = saved;
        return 0;
    }
    w = &p->w[p->n++];
    memset(w, 0, sizeof *w);
    w->pid = pid;
    w->fd = sv[0];
    w->state = TCPD_W_BUSY;
    w->gen = p->gen;
    /* it has the connection already; if it cannot take this, it is gone
     * and the reaper ends the session */
    if (send_conn(w, &p->base, -1) == -1) {
        close(w->fd);
        w->fd = -1;
    }
    return w;
}

/* The record of s: every variable its environment sets. */
static int make_record(tcpd_pool *p, const tcpd_session *s)
{
    envbuild e = ENVBUILD_ZERO;
    size_t i;
    int r = -1;

    p->rec.len = 0;
    if (envbuild_init(&e, 0) == -1)
        return -1;
    if (tcpd_child_env(&e, s, p->conf->localhost, 0) == -1 ||
        dstr_catc(&p->rec, 'C') == -1)
        goto out;
    for (i = 0; i < e.n; i++)
        if (dstr_catb(&p->rec, e.vec[i], strlen(e.vec[i]) + 1) == -1)
            goto out;
    if (p->rec.len > TCPD_WORKER_REC_MAX) {
        errno = E2BIG;
        goto out;
    }
    r = 0;
out:
    envbuild_free(&e);
    return r;
}

static int send_conn(tcpd_worker *w, const dstr *rec, int fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr m;
    struct iovec iov;
    struct cmsghdr *c;

    memset(&m, 0, sizeof m);
    memset(&cm, 0, sizeof cm);
    iov.iov_base = rec->s;
    iov.iov_len = rec->len;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
        m.msg_control = cm.buf;
        m.msg_controllen = sizeof cm.buf;
        c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    for (;;) {
        /* an idle worker's queue is empty, a new one's too: this cannot
         * block, and must not */
        ssize_t r = sendmsg(w->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r == (ssize_t)rec->len)
            return 0;
        if (r == -1 && errno == EINTR)
            continue;
        if (r >= 0)
            errno = EPROTO;
        return -1;
    }
}

pid_t tcpd_pool_hand(tcpd_pool *p, tcpd_session *s, unsigned long *nth)
{
    tcpd_worker *w = 0;
    int tries;

    if (make_record(p, s) == -1) {
        close(s->fd);
        return -1;
    }
    /* an idle worker may have died since it said done: then the next
     * one, or a new one */
    for (tries = 0; tries < 3; tries++) {
        size_t i;
        w = 0;
        for (i = p->n; i-- > 0;)
            if (p->w[i].state == TCPD_W_IDLE) {
                w = &p->w[i];
                break;
            }
        if (!w)
            break;
        p->idle--;
        w->state = TCPD_W_BUSY;
        if (send_conn(w, &p->rec, s->fd) == 0)
            break;
        /* gone or broken: reaped later, not counted as a session */
        close(w->fd);
        w->fd = -1;
        w->state = TCPD_W_LEAVING;
        w = 0;
    }
    if (!w)
        w = spawn(p, s);
    if (!w) {
        int saved = errno;
        close(s->fd);
        errno = saved;
        return -1;
    }
    close(s->fd);
    w->served++;
    w->since_ms = time_mono_ms();
    *nth = w->served;
    return w->pid;
}

size_t tcpd_pool_pollfds(const tcpd_pool *p, struct pollfd *pf,
                         pid_t *pids, size_t max)
{
    size_t i, k = 0;

    for (i = 0; i < p->n && k < max; i++)
        if (p->w[i].fd >= 0) {
            pf[k].fd = p->w[i].fd;
            pf[k].events = POLLIN;
            pf[k].revents = 0;
            pids[k] = p->w[i].pid;
            k++;
        }
    return k;
}

static size_t idle_max(const tcpd_pool *p)
{
    size_t i, busy = 0;

    for (i = 0; i < p->n; i++)
        busy += p->w[i].state == TCPD_W_BUSY;
    return busy / 2 > TCPD_IDLE_MIN ? busy / 2 : TCPD_IDLE_MIN;
}

int tcpd_pool_input(tcpd_pool *p, pid_t pid)
{
    tcpd_worker *w = find_pid(p, pid);
    char b[2];
    ssize_t r;

    if (!w || w->fd < 0)
        return 0;
    r = recv(w->fd, b, sizeof b, MSG_DONTWAIT);
    if (r == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r != 1 || b[0] != TCPD_WORKER_DONE || w->state != TCPD_W_BUSY) {
        /* gone (0), broken, or talking out of turn: let it go; if it was
         * busy, its session ends when it is reaped */
        if (w->state == TCPD_W_BUSY) {
            close(w->fd);
            w->fd = -1;
        } else {
            let_go(p, w);
        }
        return 0;
    }
    w->state = TCPD_W_IDLE;
    p->idle++;
    w->since_ms = time_mono_ms();
    /* the session is over; but a worker that already said more than its
     * one byte is talking out of turn: it is handed nothing again */
    r = recv(w->fd, b, 1, MSG_DONTWAIT | MSG_PEEK);
    if ((r != -1 || (errno != EAGAIN && errno != EINTR)) ||
        w->served >= p->conf->reuse || w->gen != p->gen ||
        p->idle > idle_max(p))
        let_go(p, w);
    return 1;
}

int tcpd_pool_reaped(tcpd_pool *p, pid_t pid, int *was_busy,
                     unsigned long *served)
{
    tcpd_worker *w = find_pid(p, pid);

    if (!w)
        return 0;
    *was_busy = w->state == TCPD_W_BUSY;
    *served = w->served;
    if (w->state == TCPD_W_IDLE)
        p->idle--;
    if (w->fd >= 0)
        close(w->fd);
    *w = p->w[--p->n];
    return 1;
}

int tcpd_pool_expire(tcpd_pool *p, int64_t now_ms)
{
    size_t i;
    int left = -1;

    for (i = 0; i < p->n; i++) {
        tcpd_worker *w = &p->w[i];
        int64_t end;
        if (w->state != TCPD_W_IDLE)
            continue;
        end = w->since_ms + TCPD_IDLE_MS;
        if (end <= now_ms) {
            let_go(p, w);
            continue;
        }
        if (left == -1 || end - now_ms < left)
            left = (int)(end - now_ms);
    }
    return left;
}

void tcpd_pool_retire_all(tcpd_pool *p)
{
    size_t i;

    p->gen++;
    for (i = 0; i < p->n; i++)
        if (p->w[i].state == TCPD_W_IDLE)
            let_go(p, &p->w[i]);
}

void tcpd_pool_make_room(tcpd_pool *p, size_t busy)
{
    size_t i;

    /* processes in all (sessions + idle workers) stay within -c */
    for (i = p->n; i-- > 0 && p->idle && busy + p->idle >= p->conf->maxconn;)
        if (p->w[i].state == TCPD_W_IDLE)
            let_go(p, &p->w[i]);
}
