/*
 * smtpd_worker.c: receive connections from qmail-tcpd.  See
 * smtpd_worker.h.
 *
 * Trust: the messages come from qmail-tcpd, our parent; each is still
 * checked (one descriptor, a record of the announced form, no variable
 * that only a fresh process could apply) and anything else fails closed.
 */
#include "smtpd_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "num.h"

extern char **environ;

/* The "B" message: make base the listener's environment.  1, 0 when
 * qmail-tcpd closed the socket (serve the first connection, then exit),
 * -1 with errno. */
static int read_base(smtpd_worker *w)
{
    ssize_t r;
    size_t i = 1;

    do
        r = recv(w->ctl, w->rec, SMTPD_WORKER_REC_MAX, 0);
    while (r == -1 && errno == EINTR);
    if (r == 0) {
        close(w->ctl);
        w->ctl = -1;
        return 0;
    }
    if (r == -1)
        return -1;
    if (r < 1 || w->rec[0] != 'B' || w->rec[r - 1] != 0) {
        errno = EPROTO;
        return -1;
    }
    w->rec[r] = 0;
    while (i < (size_t)r) {
        const char *entry = w->rec + i;
        size_t len = strlen(entry);
        const char *eq = memchr(entry, '=', len);
        char name[256];
        size_t nlen = eq ? (size_t)(eq - entry) : len;

        if (nlen == 0 || nlen >= sizeof name) {
            errno = EPROTO;
            return -1;
        }
        memcpy(name, entry, nlen);
        name[nlen] = 0;
        if ((eq ? envbuild_setb(&w->base, name, eq + 1, len - nlen - 1)
                : envbuild_unset(&w->base, name)) == -1)
            return -1;
        i += len + 1;
    }
    return 1;
}

int smtpd_worker_init(smtpd_worker *w)
{
    const char *v = env_get(SMTPD_WORKER_ENV);
    unsigned long long fd;

    memset(w, 0, offsetof(smtpd_worker, rec));
    w->ctl = -1;
    if (!v)
        return 0;
    if (num_scan_ulong_str(v, &fd) == -1 || fd < 3 || fd > 1023 ||
        fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1) {
        errno = EINVAL;
        return -1;
    }
    w->ctl = (int)fd;
    /* qmail-queue and the sessions must not see it */
    if (unsetenv(SMTPD_WORKER_ENV) == -1 || envbuild_init(&w->base, 1) == -1)
        return -1;
    return read_base(w);
}

/* A variable a reused process cannot apply per connection (read only at
 * start: ours, the dynamic linker's, glibc's); see tcpd_worker.c. */
static int process_wide(const char *name)
{
    return strncmp(name, "QMAIL", 5) == 0 || strncmp(name, "LD_", 3) == 0 ||
           strncmp(name, "GLIBC_TUNABLES", 14) == 0 ||
           strncmp(name, "MALLOC_", 7) == 0;
}

/* environ = base + the record's variables.  0 or -1 (errno). */
static int install_env(smtpd_worker *w, size_t len)
{
    envbuild next = ENVBUILD_ZERO, old = w->cur;
    size_t i = 1; /* after the tag */

    environ = w->base.vec;
    if (envbuild_init(&next, 1) == -1)
        return -1;
    while (i < len) {
        const char *entry = w->rec + i;
        size_t elen = strlen(entry); /* rec[len] is 0 */
        const char *eq = memchr(entry, '=', elen);
        char name[256];
        size_t nlen;

        if (!eq || eq == entry || (size_t)(eq - entry) >= sizeof name) {
            envbuild_free(&next);
            errno = EPROTO;
            return -1;
        }
        nlen = (size_t)(eq - entry);
        memcpy(name, entry, nlen);
        name[nlen] = 0;
        if (process_wide(name)) {
            envbuild_free(&next);
            errno = EPROTO;
            return -1;
        }
        if (envbuild_setb(&next, name, eq + 1, elen - nlen - 1) == -1) {
            envbuild_free(&next);
            return -1;
        }
        i += elen + 1;
    }
    environ = next.vec;
    w->cur = next;
    envbuild_free(&old);
    return 0;
}

int smtpd_worker_next(smtpd_worker *w, int *fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } cm;
    struct msghdr m;
    struct iovec iov;
    struct cmsghdr *c;
    ssize_t r;
    int got = -1, bad = 0;

    *fd = -1;
    for (;;) {
        memset(&m, 0, sizeof m);
        iov.iov_base = w->rec;
        iov.iov_len = SMTPD_WORKER_REC_MAX;
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cm.buf;
        m.msg_controllen = sizeof cm.buf;
        r = recvmsg(w->ctl, &m, MSG_CMSG_CLOEXEC);
        if (r >= 0 || errno != EINTR)
            break;
    }
    if (r == -1)
        return -1;
    for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int), k;
            for (k = 0; k < n; k++) {
                int f;
                memcpy(&f, CMSG_DATA(c) + k * sizeof(int), sizeof f);
                if (got == -1)
                    got = f;
                else {
                    close(f);
                    bad = 1;
                }
            }
        }
    }
    if (r == 0 && got == -1)
        return 0; /* qmail-tcpd closed the socket */
    if (bad || got == -1 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
        r < 1 || w->rec[0] != 'C' || w->rec[r - 1] != 0) {
        if (got != -1)
            close(got);
        errno = EPROTO;
        return -1;
    }
    w->rec[r] = 0;
    if (install_env(w, (size_t)r) == -1) {
        int saved = errno;
        close(got);
        errno = saved;
        return -1;
    }
    w->served++;
    *fd = got;
    return 1;
}

int smtpd_worker_done(smtpd_worker *w)
{
    char b = SMTPD_WORKER_DONE;

    for (;;) {
        ssize_t r = send(w->ctl, &b, 1, MSG_NOSIGNAL);
        if (r == 1)
            return 0;
        if (r == -1 && errno == EINTR)
            continue;
        return -1;
    }
}
