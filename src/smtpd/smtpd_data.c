/*
 * smtpd_data.c: the DATA decoder, a byte-at-a-time state machine.  See
 * smtpd_data.h for what it guarantees.
 *
 * Trusts nothing: the bytes come from the network.  State survives between
 * feeds, so a CRLF or a "." line split over two reads is seen whole.
 */
#include "smtpd_data.h"

enum {
    D_BOL,    /* at the start of a line (after CRLF, or at the start) */
    D_DOT,    /* a line that started with "." */
    D_DOTCR,  /* "." then CR at the start of a line: the end, if LF follows */
    D_TEXT,   /* inside a line (or after a bare LF: no end can follow) */
    D_CR,     /* inside a line, after a CR not yet known to be a CRLF */
};

void smtpd_data_init(smtpd_data *d, unsigned long long maxsize)
{
    d->state = D_BOL;
    d->linelen = 0;
    d->size = 0;
    d->maxsize = maxsize;
    d->lines = 0;
    d->flags = 0;
    d->done = 0;
}

static void emit(smtpd_data *d, char *out, size_t *o, char c)
{
    out[(*o)++] = c;
    d->size++;
    if (d->maxsize && d->size > d->maxsize)
        d->flags |= SMTPD_DATA_TOOBIG;
}

/* A byte inside a line. */
static void text(smtpd_data *d, char c, char *out, size_t *o)
{
    if (c == '\r') {
        d->state = D_CR; /* held back until we know what follows */
        return;
    }
    if (c == '\n') {
        /* a bare LF: kept as a line end in the output, but the next line
         * is no line start for the end of data */
        d->flags |= SMTPD_DATA_BARELF;
        emit(d, out, o, '\n');
        d->linelen = 0;
        d->state = D_TEXT;
        return;
    }
    if (c == 0)
        d->flags |= SMTPD_DATA_NUL;
    emit(d, out, o, c);
    d->state = D_TEXT;
}

size_t smtpd_data_feed(smtpd_data *d, const char *in, size_t n, char *out,
                       size_t *outlen)
{
    size_t i, o = 0;

    *outlen = 0;
    if (d->done)
        return 0;
    for (i = 0; i < n; i++) {
        char c = in[i];

        if (d->linelen < (size_t)SMTPD_DATA_LINE_MAX + 1)
            d->linelen++;
        if (d->linelen > SMTPD_DATA_LINE_MAX)
            d->flags |= SMTPD_DATA_LONGLINE;
        if (c == '\n')
            d->lines++;
        switch (d->state) {
        case D_BOL:
            if (c == '.')
                d->state = D_DOT; /* dropped: stuffing, or the end */
            else
                text(d, c, out, &o);
            break;
        case D_DOT:
            if (c == '\r')
                d->state = D_DOTCR;
            else
                text(d, c, out, &o); /* the stuffing dot stays dropped */
            break;
        case D_DOTCR:
            if (c == '\n') {
                d->done = 1;
                *outlen = o;
                return i + 1;
            }
            d->flags |= SMTPD_DATA_BARECR;
            emit(d, out, &o, '\r');
            text(d, c, out, &o);
            break;
        case D_CR:
            if (c == '\n') {
                emit(d, out, &o, '\n');
                d->linelen = 0;
                d->state = D_BOL;
            } else {
                d->flags |= SMTPD_DATA_BARECR;
                emit(d, out, &o, '\r');
                text(d, c, out, &o);
            }
            break;
        default: /* D_TEXT */
            text(d, c, out, &o);
            break;
        }
    }
    *outlen = o;
    return n;
}
