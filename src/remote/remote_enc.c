/* remote_enc.c: the SMTP DATA encoder.  See remote_enc.h. */
#include "remote_enc.h"

void remote_enc_init(remote_enc *e)
{
    e->bol = 1;
    e->cr = 0;
    e->eightbit = 0;
    e->out = 0;
    e->stuffed = 0;
}

size_t remote_enc_feed(remote_enc *e, const char *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = in[i];

        if (e->cr) {
            /* the held CR ends the line, with or without its LF */
            e->cr = 0;
            out[o++] = '\r';
            out[o++] = '\n';
            e->bol = 1;
            if (c == '\n')
                continue;
        }
        if (c == '\r') {
            e->cr = 1;
            continue;
        }
        if (c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            e->bol = 1;
            continue;
        }
        if (e->bol && c == '.') {
            out[o++] = '.';
            e->stuffed++;
        }
        if ((unsigned char)c >= 128)
            e->eightbit = 1;
        out[o++] = c;
        e->bol = 0;
    }
    e->out += o;
    return o;
}

size_t remote_enc_finish(remote_enc *e, char *out)
{
    size_t o = 0;

    if (e->cr || !e->bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    e->cr = 0;
    e->bol = 1;
    out[o++] = '.';
    out[o++] = '\r';
    out[o++] = '\n';
    e->out += o;
    return o;
}

unsigned long long remote_enc_size(const remote_enc *e)
{
    return e->out - e->stuffed - 3;
}
