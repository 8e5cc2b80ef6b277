/*
 * qmtpd_io.c: deadline-bounded netstring input.  See qmtpd_io.h.
 */
#include "qmtpd_io.h"

#include <errno.h>
#include <string.h>

void qmtpd_in_init(qmtpd_in *in, int fd, int timeout, int session_timeout)
{
    memset(in, 0, sizeof *in);
    in->timeout = timeout;
    in->session_end = session_timeout ? time(0) + session_timeout : 0;
    bio_init(&in->b, fd, in->buf, sizeof in->buf, timeout);
}

/* Bytes available now (within the limit): >0, 0 at end of file or at the
 * end of the enclosing netstring (*atlimit set), -1 on error. */
static long avail(qmtpd_in *in, int *atlimit)
{
    size_t n;

    *atlimit = 0;
    if (in->limited && in->limit == 0) {
        *atlimit = 1;
        return 0;
    }
    if (in->b.pos == in->b.len) {
        long r;
        if (in->session_end) {
            time_t left = in->session_end - time(0);
            if (left <= 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            in->b.timeout = left < in->timeout ? (int)left : in->timeout;
        }
        r = bio_fill(&in->b);
        if (r <= 0)
            return r;
    }
    n = in->b.len - in->b.pos;
    if (in->limited && (unsigned long long)n > in->limit)
        n = (size_t)in->limit;
    return (long)n;
}

static void consume(qmtpd_in *in, size_t n)
{
    in->b.pos += n;
    in->consumed += n;
    if (in->limited)
        in->limit -= n;
}

/* Run d until it reaches stop (NETSTR_DATA: header only; NETSTR_DONE). */
static int run(qmtpd_in *in, netstr_dec *d, netstr_state stop,
               qmtpd_sink *sink, void *ctx)
{
    for (;;) {
        const char *data;
        size_t used, n;
        int atlimit;
        long k = avail(in, &atlimit);

        if (k < 0)
            return -1;
        if (k == 0) {
            if (netstr_dec_fresh(d))
                return 0;
            /* the netstring goes on past its enclosing one's end, or the
             * connection ended inside it */
            errno = atlimit ? EPROTO : ENODATA;
            return -1;
        }
        n = (size_t)k;
        if (stop == NETSTR_DATA)
            n = 1; /* never consume payload when reading a header */
        used = netstr_dec_feed(d, in->b.buf + in->b.pos, n, &data, &n);
        consume(in, used);
        if (d->state == NETSTR_ERROR) {
            errno = d->err;
            return -1;
        }
        if (n && sink && sink(ctx, data, n) == -1)
            return -1;
        if (d->state == stop || d->state == NETSTR_DONE)
            return 1;
    }
}

int qmtpd_netstr(qmtpd_in *in, unsigned long long max, qmtpd_sink *sink,
                 void *ctx)
{
    netstr_dec d;

    netstr_dec_init(&d, max);
    return run(in, &d, NETSTR_DONE, sink, ctx);
}

int qmtpd_netstr_header(qmtpd_in *in, unsigned long long max,
                        unsigned long long *len)
{
    netstr_dec d;
    int r;

    netstr_dec_init(&d, max);
    r = run(in, &d, NETSTR_DATA, 0, 0);
    if (r == 1)
        *len = d.len;
    return r;
}

void qmtpd_enter(qmtpd_in *in, unsigned long long len)
{
    in->limited = 1;
    in->limit = len;
}

int qmtpd_leave(qmtpd_in *in)
{
    int atlimit;
    long k;

    if (in->limit != 0) {
        in->limited = 0;
        errno = EPROTO;
        return -1;
    }
    in->limited = 0;
    k = avail(in, &atlimit);
    if (k < 0)
        return -1;
    if (k == 0) {
        errno = ENODATA;
        return -1;
    }
    if (in->b.buf[in->b.pos] != ',') {
        errno = EPROTO;
        return -1;
    }
    consume(in, 1);
    return 0;
}

int qmtpd_why_none(const qmtpd_in *in)
{
    return in->limited && in->limit == 0 ? 0 : ENODATA;
}

int qmtpd_write(int fd, const void *data, size_t n, int timeout)
{
    return fd_write_all(fd, data, n, timeout);
}
