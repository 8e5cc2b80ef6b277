// fuzz-sources: src/lib/netstr.c src/lib/dstr.c src/lib/num.c src/lib/bio.c src/lib/timeutil.c
/*
 * libFuzzer harness: the netstring decoder.  The input is decoded as a
 * sequence of netstrings three ways: whole (netstr_parse), byte by byte
 * and in pieces cut at a place chosen by the first byte (netstr_dec_feed);
 * all must agree on every payload, the bytes consumed and the error.  A
 * decoded payload re-encoded (netstr_cat) must give back exactly the bytes
 * consumed: there is one netstring per string.  Run with `make fuzz`.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netstr.h"

#define MAX 4096

/* Decode one netstring from in with the push decoder, feeding at most
 * step bytes at a time.  Returns bytes used; *state and the payload. */
static size_t push(const char *in, size_t n, size_t step, netstr_dec *d,
                   char *out, size_t *outlen)
{
    size_t pos = 0;

    netstr_dec_init(d, MAX);
    *outlen = 0;
    while (pos < n && (d->state == NETSTR_LEN || d->state == NETSTR_DATA)) {
        const char *p;
        size_t k, m = n - pos < step ? n - pos : step;
        size_t used = netstr_dec_feed(d, in + pos, m, &p, &k);
        if (used > m || k > used)
            abort();
        if (k) {
            if (p < in + pos || p + k > in + pos + used)
                abort();
            memcpy(out + *outlen, p, k);
            *outlen += k;
        }
        pos += used;
        if (used == 0 && d->state != NETSTR_ERROR &&
            d->state != NETSTR_DONE)
            abort(); /* no progress */
    }
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t pos = 0, step = size ? (size_t)data[0] % 17 + 1 : 1;
    static char a[MAX], b[MAX];
    dstr enc = DSTR_ZERO;

    while (pos < size) {
        const char *p;
        size_t dl, used, ua, ub, la, lb;
        netstr_dec da, db;
        int r = netstr_parse(in + pos, size - pos, MAX, &p, &dl, &used);
        int err = errno;

        ua = push(in + pos, size - pos, 1, &da, a, &la);
        ub = push(in + pos, size - pos, step, &db, b, &lb);
        if (ua != ub || la != lb || memcmp(a, b, la) != 0 ||
            da.state != db.state)
            abort();
        if (r == 1) {
            if (da.state != NETSTR_DONE || ua != used || la != dl ||
                memcmp(a, p, dl) != 0 || dl > MAX)
                abort();
            enc.len = 0;
            if (netstr_cat(&enc, p, dl) == -1 || enc.len != used ||
                memcmp(enc.s, in + pos, used) != 0)
                abort();
            pos += used;
            continue;
        }
        if (r == -1) {
            if (da.state != NETSTR_ERROR || da.err != err)
                abort();
        } else if (r == 0) {
            if (da.state == NETSTR_ERROR || da.state == NETSTR_DONE)
                abort();
        } else {
            abort();
        }
        break;
    }
    dstr_free(&enc);
    return 0;
}
