/*
 * pop3_enc.c: CR LF conversion, byte-stuffing and TOP's line limit, as one
 * streaming state machine used both to count sizes and to send.  See
 * pop3_enc.h.  The message is mail from anyone: any octets, any line
 * lengths, any line ends.
 */
#include "pop3_enc.h"

#include <errno.h>
#include <unistd.h>

void pop3_enc_init(struct pop3_enc *e, int stuff,
                   unsigned long long max_body_lines)
{
    e->stuff = stuff;
    e->line_start = 1;
    e->cr = 0;
    e->line_octets = 0;
    e->in_body = 0;
    e->done = 0;
    e->max_body_lines = max_body_lines;
    e->body_lines = 0;
}

/* A line ended (its LF was just passed on): header, body and TOP. */
static void line_end(struct pop3_enc *e)
{
    int empty = e->line_octets == 0;

    e->line_start = 1;
    e->cr = 0;
    e->line_octets = 0;
    if (!e->in_body) {
        if (empty) {
            e->in_body = 1;
            if (e->max_body_lines == 0)
                e->done = 1;
        }
        return;
    }
    e->body_lines++;
    if (e->body_lines >= e->max_body_lines)
        e->done = 1;
}

size_t pop3_enc_feed(struct pop3_enc *e, const char *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n && !e->done; i++) {
        char c = in[i];
        if (e->cr) {
            /* the CR before went out: its LF, whether this is one or not */
            if (out)
                out[o] = '\n';
            o++;
            line_end(e);
            if (c == '\n' || e->done)
                continue;
        }
        if (c == '\n') {
            if (out) {
                out[o] = '\r';
                out[o + 1] = '\n';
            }
            o += 2;
            line_end(e);
            continue;
        }
        if (c == '\r') {
            if (out)
                out[o] = '\r';
            o++;
            e->cr = 1;
            e->line_start = 0;
            continue;
        }
        if (e->line_start && c == '.' && e->stuff) {
            if (out)
                out[o] = '.';
            o++;
        }
        if (out)
            out[o] = c;
        o++;
        e->line_start = 0;
        e->line_octets++;
    }
    return o;
}

size_t pop3_enc_finish(struct pop3_enc *e, char *out)
{
    size_t o = 0;

    if (e->done || e->line_start)
        return 0;
    /* a final line without LF: end it; a trailing CR gets its LF */
    if (!e->cr) {
        if (out)
            out[o] = '\r';
        o++;
    }
    if (out)
        out[o] = '\n';
    o++;
    line_end(e);
    return o;
}

int pop3_enc_size_fd(int fd, unsigned long long *size)
{
    struct pop3_enc e;
    char buf[65536];
    unsigned long long total = 0;

    pop3_enc_init(&e, 0, POP3_ENC_ALL);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        total += pop3_enc_feed(&e, buf, (size_t)r, 0);
    }
    total += pop3_enc_finish(&e, 0);
    *size = total;
    return 0;
}
