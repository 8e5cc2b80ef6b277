/*
 * bio.c: buffered fd I/O with deadlines.  See bio.h.
 * The peer on the other side of fd is not trusted: line lengths are
 * bounded by the caller's max and every wait has a deadline.
 */
#include "bio.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "timeutil.h"

void bio_init(bio *b, int fd, char *buf, size_t cap, int timeout)
{
    b->fd = fd;
    b->buf = buf;
    b->cap = cap;
    b->pos = b->len = 0;
    b->timeout = timeout;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_ready(int fd, short events, int64_t deadline)
{
    struct pollfd p;
    int64_t left;
    int r;

    if (deadline == 0)
        return 0;
    for (;;) {
        left = deadline - time_mono_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (r > 0)
            return 0;
        if (r == -1 && errno != EINTR)
            return -1;
    }
}

static int64_t deadline_for(int timeout)
{
    return timeout > 0 ? time_mono_ms() + (int64_t)timeout * 1000 : 0;
}

long fd_read_timeout(int fd, void *out, size_t n, int timeout)
{
    int64_t deadline = deadline_for(timeout);
    ssize_t r;

    for (;;) {
        if (wait_ready(fd, POLLIN, deadline) == -1)
            return -1;
        r = read(fd, out, n);
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN && deadline)
            continue;
        return -1;
    }
}

int fd_write_all(int fd, const void *data, size_t n, int timeout)
{
    const char *p = data;
    int64_t deadline = deadline_for(timeout);
    ssize_t w;

    while (n > 0) {
        if (wait_ready(fd, POLLOUT, deadline) == -1)
            return -1;
        /* On a blocking fd, poll() only promises room for some bytes: one
         * large write(2) would then block past the deadline until a slow
         * reader took it all.  With a deadline, write at most PIPE_BUF,
         * which fits in any pipe that poll() calls writable. */
        w = write(fd, p, deadline && n > PIPE_BUF ? PIPE_BUF : n);
        if (w == -1) {
            if (errno == EINTR || (errno == EAGAIN && deadline))
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

long bio_fill(bio *b)
{
    long r;

    if (b->pos < b->len)
        return (long)(b->len - b->pos);
    b->pos = b->len = 0;
    r = fd_read_timeout(b->fd, b->buf, b->cap, b->timeout);
    if (r > 0)
        b->len = (size_t)r;
    return r;
}

long bio_read(bio *b, char *out, size_t n)
{
    long avail;
    size_t take;

    if (n == 0)
        return 0;
    if (b->pos == b->len && n >= b->cap)
        return fd_read_timeout(b->fd, out, n, b->timeout);
    avail = bio_fill(b);
    if (avail <= 0)
        return avail;
    take = (size_t)avail < n ? (size_t)avail : n;
    memcpy(out, b->buf + b->pos, take);
    b->pos += take;
    return (long)take;
}

int bio_getsep(bio *b, dstr *out, char sep, size_t max, int *toolong)
{
    size_t got = 0;
    int any = 0;

    if (toolong)
        *toolong = 0;
    for (;;) {
        long avail = bio_fill(b);
        char *start, *nl;
        size_t chunk, keep;

        if (avail < 0)
            return -1;
        if (avail == 0)
            return any ? 1 : 0;
        any = 1;
        start = b->buf + b->pos;
        nl = memchr(start, sep, (size_t)avail);
        chunk = nl ? (size_t)(nl - start) + 1 : (size_t)avail;
        keep = chunk;
        if (got + keep > max) {
            keep = max > got ? max - got : 0;
            if (toolong)
                *toolong = 1;
        }
        if (keep && dstr_catb(out, start, keep) == -1)
            return -1;
        got += keep;
        b->pos += chunk;
        if (nl)
            return 1;
    }
}

int bio_getline(bio *b, dstr *line, size_t max, int *toolong)
{
    return bio_getsep(b, line, '\n', max, toolong);
}

int bio_flush(bio *b)
{
    if (b->len == 0)
        return 0;
    if (fd_write_all(b->fd, b->buf, b->len, b->timeout) == -1)
        return -1;
    b->len = 0;
    return 0;
}

int bio_put(bio *b, const void *data, size_t n)
{
    const char *p = data;

    if (n == 0) /* data may be NULL then (an empty dstr) */
        return 0;
    if (n > b->cap - b->len) {
        if (bio_flush(b) == -1)
            return -1;
        if (n >= b->cap)
            return fd_write_all(b->fd, p, n, b->timeout);
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}

int bio_puts(bio *b, const char *s) { return bio_put(b, s, strlen(s)); }
