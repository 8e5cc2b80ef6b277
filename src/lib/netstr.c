/*
 * netstr.c: netstring decoder and encoder.  See netstr.h.
 *
 * The decoder is a small state machine over single bytes for the header
 * and over whole runs for the payload; it never reads ahead of the
 * netstring it decodes, so several netstrings can follow one another in
 * one buffer or stream.
 */
#include "netstr.h"

#include <errno.h>
#include <string.h>

#include "num.h"

void netstr_dec_init(netstr_dec *d, unsigned long long max)
{
    memset(d, 0, sizeof *d);
    d->state = NETSTR_LEN;
    d->max = max;
}

int netstr_dec_fresh(const netstr_dec *d)
{
    return d->state == NETSTR_LEN && d->digits == 0;
}

static size_t fail(netstr_dec *d, int err, size_t used)
{
    d->state = NETSTR_ERROR;
    d->err = err;
    return used;
}

size_t netstr_dec_feed(netstr_dec *d, const char *in, size_t n,
                       const char **data, size_t *datalen)
{
    size_t i = 0;

    *data = in;
    *datalen = 0;
    while (i < n) {
        unsigned char c = (unsigned char)in[i];

        switch (d->state) {
        case NETSTR_LEN:
            if (c >= '0' && c <= '9') {
                /* "0" may only be the whole of [len] */
                if (d->digits == 1 && d->len == 0)
                    return fail(d, EPROTO, i);
                if (d->digits >= NETSTR_DIGITS_MAX)
                    return fail(d, EMSGSIZE, i);
                d->len = d->len * 10 + (c - '0');
                d->digits++;
                if (d->len > d->max)
                    return fail(d, EMSGSIZE, i);
                i++;
                continue;
            }
            if (c != ':' || d->digits == 0)
                return fail(d, EPROTO, i);
            d->left = d->len;
            d->state = NETSTR_DATA;
            i++;
            continue;
        case NETSTR_DATA:
            if (d->left > 0) {
                size_t take = n - i;
                if ((unsigned long long)take > d->left)
                    take = (size_t)d->left;
                d->left -= take;
                *data = in + i;
                *datalen = take;
                return i + take;
            }
            if (c != ',')
                return fail(d, EPROTO, i);
            d->state = NETSTR_DONE;
            return i + 1;
        case NETSTR_DONE:
        case NETSTR_ERROR:
            return i;
        }
    }
    return i;
}

int netstr_parse(const char *s, size_t len, unsigned long long max,
                 const char **data, size_t *datalen, size_t *used)
{
    netstr_dec d;
    size_t pos = 0, piece;
    const char *p;
    const char *start = 0;

    netstr_dec_init(&d, max);
    while (pos < len) {
        pos += netstr_dec_feed(&d, s + pos, len - pos, &p, &piece);
        if (piece && !start)
            start = p; /* the payload is contiguous in s */
        if (d.state == NETSTR_ERROR) {
            errno = d.err;
            return -1;
        }
        if (d.state == NETSTR_DONE) {
            /* an empty payload has no piece: it starts before the ',' */
            *data = start ? start : s + pos - 1;
            *datalen = (size_t)d.len;
            *used = pos;
            return 1;
        }
    }
    return 0;
}

/* ---- bio --------------------------------------------------------------- */

/* Make sure a byte is buffered: 1, 0 at EOF, -1 on error. */
static int have_byte(bio *b)
{
    long r;

    if (b->pos < b->len)
        return 1;
    r = bio_fill(b);
    if (r < 0)
        return -1;
    return r > 0;
}

int netstr_read_len(bio *b, unsigned long long max, unsigned long long *len)
{
    netstr_dec d;
    const char *p;
    size_t n;
    int r;

    netstr_dec_init(&d, max);
    for (;;) {
        r = have_byte(b);
        if (r == -1)
            return -1;
        if (r == 0) {
            if (netstr_dec_fresh(&d))
                return 0;
            errno = ENODATA;
            return -1;
        }
        /* one byte at a time: never consume payload here */
        b->pos += netstr_dec_feed(&d, b->buf + b->pos, 1, &p, &n);
        if (d.state == NETSTR_ERROR) {
            errno = d.err;
            return -1;
        }
        if (d.state == NETSTR_DATA) {
            *len = d.len;
            return 1;
        }
    }
}

int netstr_read_end(bio *b)
{
    int r = have_byte(b);

    if (r == -1)
        return -1;
    if (r == 0) {
        errno = ENODATA;
        return -1;
    }
    if (b->buf[b->pos] != ',') {
        errno = EPROTO;
        return -1;
    }
    b->pos++;
    return 0;
}

/* Hand the next buffered bytes (at most n) to out (if any). */
static int take(bio *b, dstr *out, unsigned long long *n)
{
    int r = have_byte(b);
    size_t k;

    if (r == -1)
        return -1;
    if (r == 0) {
        errno = ENODATA;
        return -1;
    }
    k = b->len - b->pos;
    if ((unsigned long long)k > *n)
        k = (size_t)*n;
    if (out && dstr_catb(out, b->buf + b->pos, k) == -1)
        return -1;
    b->pos += k;
    *n -= k;
    return 0;
}

/* what netstr_read_data reserves before any payload arrived: a length is
 * only the peer's claim, so memory beyond this grows with the bytes */
#define NETSTR_RESERVE_MAX 65536

int netstr_read_data(bio *b, dstr *out, size_t n)
{
    unsigned long long left = n;

    if (dstr_reserve(out, n < NETSTR_RESERVE_MAX ? n : NETSTR_RESERVE_MAX) ==
        -1)
        return -1;
    while (left > 0)
        if (take(b, out, &left) == -1)
            return -1;
    return 0;
}

int netstr_skip(bio *b, unsigned long long n)
{
    while (n > 0)
        if (take(b, 0, &n) == -1)
            return -1;
    return 0;
}

int netstr_read(bio *b, dstr *out, size_t max)
{
    unsigned long long len;
    int r = netstr_read_len(b, max, &len);

    if (r != 1)
        return r;
    out->len = 0;
    if (netstr_read_data(b, out, (size_t)len) == -1 ||
        netstr_read_end(b) == -1)
        return -1;
    return 1;
}

/* ---- encoder ----------------------------------------------------------- */

int netstr_cat_len(dstr *out, unsigned long long n)
{
    char buf[NUM_FMT_ULONG + 1];
    size_t k = num_fmt_ulong(buf, n);

    buf[k++] = ':';
    return dstr_catb(out, buf, k);
}

int netstr_cat(dstr *out, const void *data, size_t n)
{
    size_t saved = out->len;

    if (netstr_cat_len(out, n) == -1 || dstr_catb(out, data, n) == -1 ||
        dstr_catc(out, ',') == -1) {
        out->len = saved;
        return -1;
    }
    return 0;
}

int netstr_cats(dstr *out, const char *s)
{
    return netstr_cat(out, s, strlen(s));
}
