/*
 * smtpd_io.c: deadline-bounded client I/O for qmail-smtpd.  See smtpd_io.h.
 *
 * Trusts nothing from the client: lengths are bounded by the buffers and
 * the caller's limits, every wait by a deadline.
 */
#include "smtpd_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "timeutil.h"

void smtpd_io_init(smtpd_io *io, int infd, int outfd, int timeout,
                   int session_seconds)
{
    io->infd = infd;
    io->outfd = outfd;
    io->timeout = timeout;
    io->session_end = session_seconds > 0
                          ? time_mono_ms() + (int64_t)session_seconds * 1000
                          : 0;
    io->session_over = 0;
    io->pos = io->len = io->outlen = 0;
    /* Non-blocking, so that a write to a client that does not read cannot
     * block past its deadline (poll's "writable" promises less than a
     * whole write).  Reads wait in poll() first.  Harmless on files. */
    io->outflags = fcntl(outfd, F_GETFL);
    if (io->outflags != -1)
        (void)fcntl(outfd, F_SETFL, io->outflags | O_NONBLOCK);
    io->inflags = fcntl(infd, F_GETFL);
    if (io->inflags != -1)
        (void)fcntl(infd, F_SETFL, io->inflags | O_NONBLOCK);
}

int smtpd_io_done(smtpd_io *io)
{
    int r = smtpd_io_flush(io);

    if (io->outflags != -1)
        (void)fcntl(io->outfd, F_SETFL, io->outflags);
    if (io->inflags != -1)
        (void)fcntl(io->infd, F_SETFL, io->inflags);
    io->inflags = io->outflags = -1;
    return r;
}

int64_t smtpd_io_deadline(smtpd_io *io)
{
    int64_t d = io->timeout > 0
                    ? time_mono_ms() + (int64_t)io->timeout * 1000
                    : 0;
    if (io->session_end && (d == 0 || io->session_end < d))
        d = io->session_end;
    return d;
}

/* Wait for input until deadline (0: forever).  0 ready, -1 error. */
static int wait_input(smtpd_io *io, int64_t deadline)
{
    struct pollfd p;
    int r;

    for (;;) {
        int ms = -1;
        if (deadline) {
            int64_t left = deadline - time_mono_ms();
            if (left <= 0) {
                io->session_over =
                    io->session_end && deadline >= io->session_end;
                errno = ETIMEDOUT;
                return -1;
            }
            ms = left > 1000000 ? 1000000 : (int)left;
        }
        p.fd = io->infd;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == -1 && errno != EINTR)
            return -1;
    }
}

long smtpd_io_fill(smtpd_io *io, int64_t deadline)
{
    ssize_t r;

    if (io->pos < io->len)
        return (long)(io->len - io->pos);
    if (smtpd_io_flush(io) == -1)
        return -1;
    io->pos = io->len = 0;
    for (;;) {
        if (wait_input(io, deadline) == -1)
            return -1;
        r = read(io->infd, io->in, sizeof io->in);
        if (r >= 0) {
            io->len = (size_t)r;
            return (long)r;
        }
        if (errno != EINTR && errno != EAGAIN)
            return -1;
    }
}

int smtpd_io_getline(smtpd_io *io, char *line, size_t max, size_t *len,
                     int *toolong)
{
    int64_t deadline = smtpd_io_deadline(io);
    size_t got = 0;

    *toolong = 0;
    *len = 0;
    for (;;) {
        const char *start, *nl;
        size_t avail, chunk, keep;
        long r = smtpd_io_fill(io, deadline);

        if (r <= 0)
            return (int)r; /* EOF mid-line drops the partial line */
        start = io->in + io->pos;
        avail = io->len - io->pos;
        nl = memchr(start, '\n', avail);
        chunk = nl ? (size_t)(nl - start) + 1 : avail;
        keep = chunk;
        if (keep > max - got) {
            keep = max - got;
            *toolong = 1;
        }
        memcpy(line + got, start, keep);
        got += keep;
        io->pos += chunk;
        if (nl) {
            *len = got;
            return 1;
        }
    }
}

int smtpd_io_early(smtpd_io *io, int ms)
{
    struct pollfd p;
    ssize_t r;
    int64_t deadline = time_mono_ms() + ms;

    for (;;) {
        int64_t left = deadline - time_mono_ms();
        if (left <= 0)
            return 0;
        p.fd = io->infd;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, (int)left);
        if (r == 0)
            return 0;
        if (r == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        r = read(io->infd, io->in, sizeof io->in);
        if (r > 0) {
            io->pos = 0;
            io->len = (size_t)r;
            return 1;
        }
        if (r == 0)
            return 2;
        if (errno != EINTR && errno != EAGAIN)
            return -1;
    }
}

int smtpd_io_flush(smtpd_io *io)
{
    if (io->outlen == 0)
        return 0;
    /* fd_write_all writes at most PIPE_BUF bytes per call with a deadline:
     * the whole queue, as it is never larger */
    if (fd_write_all(io->outfd, io->out, io->outlen, io->timeout) == -1)
        return -1;
    io->outlen = 0;
    return 0;
}

int smtpd_io_reply(smtpd_io *io, const char *s, size_t n)
{
    if (n > sizeof io->out - io->outlen && smtpd_io_flush(io) == -1)
        return -1;
    if (n > sizeof io->out)
        return fd_write_all(io->outfd, s, n, io->timeout);
    memcpy(io->out + io->outlen, s, n);
    io->outlen += n;
    return 0;
}
