/*
 * inject_input.c: normalized reading of the submitted message.  See
 * inject_input.h.
 *
 * The filter is a small state machine over single bytes, with a fast path
 * that copies runs of ordinary bytes, so that a 100 MB body costs little
 * and bytes split across read() boundaries (CR | LF, "." | LF) are handled
 * exactly like contiguous ones.
 */
#include "inject_input.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void inject_norm_init(inject_norm *n, int dot_ends)
{
    memset(n, 0, sizeof *n);
    n->dot_ends = dot_ends;
    n->bol = 1;
}

static size_t emit(inject_norm *n, char *out, size_t o, char c)
{
    out[o] = c;
    n->bol = c == '\n';
    n->any = 1;
    return o + 1;
}

size_t inject_norm_feed(inject_norm *n, const char *in, size_t len,
                        char *out, size_t *used)
{
    size_t i = 0, o = 0;

    if (n->ended) {
        *used = len;
        return 0;
    }
    while (i < len) {
        char c = in[i];

        if (n->nheld == 1 && n->held[0] == '.') {
            /* a "." at the start of a line */
            if (c == '\n') {
                n->ended = 1;
                n->nheld = 0;
                i++;
                break;
            }
            if (c == '\r') {
                n->held[1] = '\r';
                n->nheld = 2;
                i++;
                continue;
            }
            n->nheld = 0;
            o = emit(n, out, o, '.');
            continue; /* c is handled in the middle of the line */
        }
        if (n->nheld == 2) { /* ".\r" at the start of a line */
            if (c == '\n') {
                n->ended = 1;
                n->nheld = 0;
                i++;
                break;
            }
            n->nheld = 0;
            o = emit(n, out, o, '.');
            n->held[0] = '\r'; /* the CR may still pair with an LF */
            n->nheld = 1;
            continue;
        }
        if (n->nheld == 1) { /* a CR */
            n->nheld = 0;
            if (c == '\n') {
                o = emit(n, out, o, '\n');
                i++;
            } else {
                o = emit(n, out, o, '\r');
            }
            continue;
        }
        if (c == '\r') {
            n->held[0] = '\r';
            n->nheld = 1;
            i++;
            continue;
        }
        if (c == '.' && n->bol && n->dot_ends) {
            n->held[0] = '.';
            n->nheld = 1;
            i++;
            continue;
        }
        if (c == '\n') {
            o = emit(n, out, o, '\n');
            i++;
            continue;
        }
        /* a run of ordinary bytes */
        {
            size_t j = i;
            while (j < len && in[j] != '\r' && in[j] != '\n')
                j++;
            memcpy(out + o, in + i, j - i);
            o += j - i;
            n->bol = 0;
            n->any = 1;
            i = j;
        }
    }
    *used = i;
    return o;
}

size_t inject_norm_finish(inject_norm *n, char *out)
{
    size_t o = 0;

    if (!n->ended && n->nheld) {
        if (n->held[0] == '.') {
            /* "." or ".\r" as the last line: that ends the input too */
            n->ended = 1;
        } else {
            o = emit(n, out, o, '\r');
        }
    }
    n->nheld = 0;
    if (n->any && !n->bol)
        o = emit(n, out, o, '\n');
    return o;
}

void inject_in_init(inject_in *in, int fd, int dot_ends)
{
    in->fd = fd;
    inject_norm_init(&in->norm, dot_ends);
    in->eof = 0;
    in->pos = in->len = 0;
}

/* Make normalized bytes available: returns 1, 0 at end, -1 on error. */
static int in_fill(inject_in *in)
{
    while (in->pos == in->len) {
        ssize_t r;
        size_t used;

        if (in->eof)
            return 0;
        in->pos = in->len = 0;
        r = read(in->fd, in->raw, sizeof in->raw);
        if (r == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            in->len = inject_norm_finish(&in->norm, in->buf);
            in->eof = 1;
            continue;
        }
        in->len = inject_norm_feed(&in->norm, in->raw, (size_t)r, in->buf,
                                   &used);
        if (in->norm.ended)
            in->eof = 1; /* the rest of stdin is not part of the message */
    }
    return 1;
}

int inject_in_getline(inject_in *in, dstr *line, size_t max, int *toolong)
{
    size_t got = 0;
    int any = 0;

    *toolong = 0;
    for (;;) {
        int r = in_fill(in);
        const char *start, *nl;
        size_t avail, take;

        if (r == -1)
            return -1;
        if (r == 0)
            return any;
        start = in->buf + in->pos;
        avail = in->len - in->pos;
        nl = memchr(start, '\n', avail);
        take = nl ? (size_t)(nl - start) + 1 : avail;
        if (got + take > max) {
            take = max - got;
            *toolong = 1;
        }
        if (take && dstr_catb(line, start, take) == -1)
            return -1;
        in->pos += take;
        got += take;
        any = 1;
        if (*toolong || (nl && start + take == nl + 1))
            return 1;
    }
}

long inject_in_chunk(inject_in *in, const char **p)
{
    int r = in_fill(in);
    long n;

    if (r <= 0)
        return r;
    *p = in->buf + in->pos;
    n = (long)(in->len - in->pos);
    in->pos = in->len;
    return n;
}
