// fuzz-sources: src/smtpd/smtpd_data.c
// fuzz-dict: tests/fuzz/smtpd.dict
/*
 * libFuzzer harness: the DATA decoder.  The input is fed whole and again
 * cut at a place chosen by its first two bytes; both runs must agree
 * (output, bytes consumed, flags), the output never exceeds the input by
 * more than the one held-back CR, and the message only ends right after
 * <CRLF>.<CRLF> (or ".<CRLF>" at its very start).  Run with `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_data.h"

static size_t run(const char *in, size_t n, size_t cut, char *out,
                  smtpd_data *d)
{
    size_t o1 = 0, o2 = 0, used;

    smtpd_data_init(d, 100);
    used = smtpd_data_feed(d, in, cut, out, &o1);
    if (used > cut || o1 > used + 1)
        abort();
    if (!d->done) {
        size_t u2 = smtpd_data_feed(d, in + cut, n - cut, out + o1, &o2);
        if (u2 > n - cut || o2 > u2 + 1)
            abort();
        used += u2;
    }
    if (d->done && (used < 3 || memcmp(in + used - 3, ".\r\n", 3) != 0 ||
                    (used != 3 && (used < 5 ||
                                   memcmp(in + used - 5, "\r\n", 2) != 0))))
        abort();
    return (o1 + o2) | (used << 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtpd_data a, b;
    char *in, *out1, *out2;
    size_t n, cut, r1, r2;

    if (size < 2 || size > (1u << 20))
        return 0;
    cut = ((size_t)data[0] << 8 | data[1]);
    n = size - 2;
    cut = n ? cut % (n + 1) : 0;
    in = malloc(n ? n : 1);
    out1 = malloc(n + 2);
    out2 = malloc(n + 2);
    if (!in || !out1 || !out2)
        abort();
    memcpy(in, data + 2, n);
    r1 = run(in, n, n, out1, &a);
    r2 = run(in, n, cut, out2, &b);
    if (r1 != r2 || a.flags != b.flags || a.done != b.done ||
        a.size != b.size ||
        memcmp(out1, out2, r1 & 0xffffffffu) != 0)
        abort();
    free(in);
    free(out1);
    free(out2);
    return 0;
}
