/*
 * pop3_io.c: command lines from the client with deadlines.  See
 * pop3_io.h.  Used by qmail-popup (exact mode) and qmail-pop3d
 * (buffered).
 */
#include "pop3_io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timeutil.h"

void pop3_in_init(struct pop3_in *in, int fd, int exact)
{
    in->fd = fd;
    in->exact = exact;
    in->nopeek = 0;
    in->deadline = 0;
    in->pos = in->len = 0;
}

void pop3_in_set_deadline(struct pop3_in *in, int64_t deadline_ms)
{
    in->deadline = deadline_ms;
}

int pop3_in_pending(const struct pop3_in *in) { return in->pos < in->len; }

/* Wait until fd is readable (or at EOF); 0, or -1 with errno (ETIMEDOUT
 * once the deadline has passed). */
static int wait_readable(int fd, int64_t deadline)
{
    for (;;) {
        struct pollfd p;
        int64_t left = deadline ? deadline - time_mono_ms() : -1;
        int pr;

        if (deadline && left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        pr = poll(&p, 1, !deadline ? -1 : left > 1000000 ? 1000000
                                                      : (int)left);
        if (pr == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (pr > 0)
            return 0;
    }
}

/* Refill the buffer; returns octets read, 0 at EOF, -1 on error. */
static long fill(struct pop3_in *in, int64_t deadline)
{
    for (;;) {
        ssize_t r;

        if (wait_readable(in->fd, deadline) == -1)
            return -1;
        r = read(in->fd, in->buf, sizeof in->buf);
        if (r == -1) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        in->pos = 0;
        in->len = (size_t)r;
        return (long)r;
    }
}

/* Read exactly n octets that are known to be there (they were peeked
 * at): 0, or -1 (0 octets at EOF count as an error: EIO). */
static int consume(int fd, char *out, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, out, n);
        if (r == -1) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = EIO;
            return -1;
        }
        out += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Exact mode: see pop3_io.h. */
static int line_exact(struct pop3_in *in, char *out, size_t cap,
                      size_t *outlen, int64_t deadline)
{
    size_t n = 0;

    for (;;) {
        size_t room = cap - 1 - n, take = 1;
        ssize_t r;

        if (room == 0) {
            errno = EMSGSIZE;
            return -1;
        }
        if (wait_readable(in->fd, deadline) == -1)
            return -1;
        if (in->nopeek) {
            r = read(in->fd, out + n, 1);
            take = 1;
        } else {
            r = recv(in->fd, out + n, room, MSG_PEEK);
            if (r == -1 && errno == ENOTSOCK) {
                in->nopeek = 1;
                continue;
            }
        }
        if (r == -1) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (r == 0)
            return 0;
        if (!in->nopeek) {
            const char *lf = memchr(out + n, '\n', (size_t)r);
            take = lf ? (size_t)(lf - (out + n)) + 1 : (size_t)r;
            if (consume(in->fd, out + n, take) == -1)
                return -1;
        }
        n += take;
        if (out[n - 1] == '\n')
            break;
    }
    n--;
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = 0;
    *outlen = n;
    return 1;
}

int pop3_in_line(struct pop3_in *in, char *out, size_t cap, size_t *outlen,
                 int timeout, int *toolong)
{
    int64_t deadline = timeout > 0 ? time_mono_ms() + (int64_t)timeout * 1000
                                   : 0;
    size_t n = 0, total = 0, content;
    char last = 0;

    if (in->deadline && (!deadline || in->deadline < deadline))
        deadline = in->deadline;
    *toolong = 0;
    *outlen = 0;
    if (cap == 0) {
        errno = EINVAL;
        return -1;
    }
    if (in->exact)
        return line_exact(in, out, cap, outlen, deadline);
    for (;;) {
        char c;
        if (in->pos == in->len) {
            long r = fill(in, deadline);
            if (r <= 0)
                return (int)r;
        }
        c = in->buf[in->pos++];
        if (c == '\n')
            break;
        if (++total > POP3_IN_DISCARD) {
            errno = EMSGSIZE;
            return -1;
        }
        last = c;
        if (n < cap - 1)
            out[n++] = c;
    }
    /* the line without the CR of its CR LF */
    content = total - (last == '\r' ? 1 : 0);
    if (content > cap - 1)
        *toolong = 1;
    if (n > content)
        n = content;
    out[n] = 0;
    *outlen = n;
    return 1;
}

void pop3_drain(struct pop3_in *in, int outfd)
{
    int64_t deadline = time_mono_ms() + 1000;
    size_t total = 0;

    if (shutdown(outfd, SHUT_WR) == -1)
        return; /* not a socket: nothing to protect */
    in->exact = 0;
    while (total < POP3_DRAIN_MAX) {
        long r;
        in->pos = in->len;
        r = fill(in, deadline);
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    in->pos = in->len = 0;
}
