/*
 * remote_reply.c: SMTP replies from remote servers.  See remote_reply.h.
 * Everything read here is untrusted and bounded.
 */
#include "remote_reply.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "timeutil.h"

void remote_reply_reset(remote_reply *r)
{
    r->code = 0;
    r->nlines = 0;
    r->done = 0;
    r->text.len = 0;
}

void remote_reply_free(remote_reply *r)
{
    dstr_free(&r->text);
    remote_reply_reset(r);
}

static int isdigit_ascii(char c) { return c >= '0' && c <= '9'; }

int remote_reply_feed(remote_reply *r, const char *line, size_t len)
{
    int code, last;

    if (r->done || r->nlines >= REMOTE_REPLY_LINES_MAX || len < 3 ||
        !isdigit_ascii(line[0]) || !isdigit_ascii(line[1]) ||
        !isdigit_ascii(line[2]) || line[0] < '2' || line[0] > '5')
        goto bad;
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (len == 3 || line[3] == ' ')
        last = 1;
    else if (line[3] == '-')
        last = 0;
    else
        goto bad;
    if (r->nlines && code != r->code)
        goto bad;
    if (dstr_catb(&r->text, line, len) == -1 ||
        dstr_catc(&r->text, '\n') == -1)
        return -1;
    r->code = code;
    r->nlines++;
    r->done = last;
    return last;
bad:
    errno = EPROTO;
    return -1;
}

int remote_reply_class(const remote_reply *r)
{
    return r->code ? r->code / 100 : 0;
}

void remote_in_init(remote_in *in, int fd)
{
    in->fd = fd;
    in->pos = in->len = 0;
}

/* Read more bytes into the buffer (which must have room) before the
 * monotonic deadline (ms). */
static int fill(remote_in *in, int64_t deadline)
{
    for (;;) {
        struct pollfd p;
        int64_t left = deadline - time_mono_ms();
        ssize_t n;
        int r;

        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        n = read(in->fd, in->buf + in->len, sizeof in->buf - in->len);
        if (n > 0) {
            in->len += (size_t)n;
            return 0;
        }
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        p.fd = in->fd;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (r == -1 && errno != EINTR)
            return -1;
    }
}

int remote_reply_read(remote_in *in, remote_reply *r, int timeout)
{
    int64_t deadline = time_mono_ms() + (int64_t)timeout * 1000;

    remote_reply_reset(r);
    for (;;) {
        char *start = in->buf + in->pos;
        char *nl = memchr(start, '\n', in->len - in->pos);
        size_t len;
        int got;

        if (!nl) {
            /* no complete line buffered: the partial one must fit */
            if (in->len - in->pos >= REMOTE_REPLY_LINE_MAX) {
                errno = EPROTO;
                return -1;
            }
            if (in->pos) {
                memmove(in->buf, start, in->len - in->pos);
                in->len -= in->pos;
                in->pos = 0;
            }
            if (fill(in, deadline) == -1)
                return -1;
            continue;
        }
        len = (size_t)(nl - start);
        in->pos += len + 1;
        if (len + 1 > REMOTE_REPLY_LINE_MAX) {
            errno = EPROTO;
            return -1;
        }
        if (len && start[len - 1] == '\r')
            len--;
        got = remote_reply_feed(r, start, len);
        if (got == -1)
            return -1;
        if (got == 1)
            return 0;
    }
}
