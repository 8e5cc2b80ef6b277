/*
 * pop3_io.c: command lines from the client with a deadline per line.  See
 * pop3_io.h.  Used by qmail-popup (unbuffered) and qmail-pop3d.
 */
#include "pop3_io.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timeutil.h"

void pop3_in_init(struct pop3_in *in, int fd, int unbuffered)
{
    in->fd = fd;
    in->unbuffered = unbuffered;
    in->pos = in->len = 0;
}

int pop3_in_pending(const struct pop3_in *in) { return in->pos < in->len; }

/* Refill the buffer; returns octets read, 0 at EOF, -1 on error. */
static long fill(struct pop3_in *in, int64_t deadline)
{
    for (;;) {
        struct pollfd p;
        int64_t left = deadline ? deadline - time_mono_ms() : -1;
        ssize_t r;
        int pr;

        if (deadline && left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        p.fd = in->fd;
        p.events = POLLIN;
        p.revents = 0;
        pr = poll(&p, 1, !deadline ? -1 : left > 1000000 ? 1000000
                                                      : (int)left);
        if (pr == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (pr == 0)
            continue;
        r = read(in->fd, in->buf, in->unbuffered ? 1 : sizeof in->buf);
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

int pop3_in_line(struct pop3_in *in, char *out, size_t cap, size_t *outlen,
                 int timeout, int *toolong)
{
    int64_t deadline = timeout > 0 ? time_mono_ms() + (int64_t)timeout * 1000
                                   : 0;
    size_t n = 0, total = 0, content;
    char last = 0;

    *toolong = 0;
    *outlen = 0;
    if (cap == 0) {
        errno = EINVAL;
        return -1;
    }
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
    in->unbuffered = 0;
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
