// fuzz-sources: src/pop3/pop3_enc.c
// fuzz-dict: tests/fuzz/pop3.dict
/*
 * libFuzzer harness: the POP3 message encoder (CR LF conversion, dot
 * stuffing, TOP's body line limit) that qmail-pop3d uses both to send a
 * message and to count the size LIST and STAT report.  The first byte
 * picks stuffing and the TOP limit, the next two a cut point; the rest is
 * the message.  Checks: the count with out == NULL equals the bytes
 * written; the output is the same fed whole, cut in two, or byte by byte;
 * no call writes more than 2 n + 2 octets; the output equals a simple
 * line-by-line reference model; it has no bare CR or LF; with stuffing
 * off it never holds the terminator; pop3_enc_size_fd on a memfd holding
 * the message equals the unstuffed, unlimited output's length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/pop3/pop3_enc.h"

static int memfd = -1;

static int same(const struct pop3_enc *a, const struct pop3_enc *b)
{
    return a->stuff == b->stuff && a->line_start == b->line_start &&
           a->cr == b->cr && a->line_octets == b->line_octets &&
           a->in_body == b->in_body && a->done == b->done &&
           a->max_body_lines == b->max_body_lines &&
           a->body_lines == b->body_lines;
}

/* Feed in pieces of at most step octets (0: cut at cut). */
static size_t run(const char *in, size_t n, int stuff,
                  unsigned long long max, size_t cut, size_t step, char *out,
                  int *done)
{
    struct pop3_enc e, e2;
    size_t o = 0, pos = 0, w, w2, f;

    pop3_enc_init(&e, stuff, max);
    while (pos < n) {
        size_t k = step ? (n - pos < step ? n - pos : step)
                        : (pos == 0 && cut ? cut : n - pos);
        e2 = e;
        w = pop3_enc_feed(&e, in + pos, k, out + o);
        w2 = pop3_enc_feed(&e2, in + pos, k, 0);
        if (w != w2 || w > 2 * k + 2 || !same(&e, &e2))
            abort();
        o += w;
        pos += k;
    }
    e2 = e;
    f = pop3_enc_finish(&e, out + o);
    if (f > 2 || pop3_enc_finish(&e2, 0) != f)
        abort();
    *done = e.done;
    return o + f;
}

/* The reference: split into lines at LF, CR LF or a lone CR. */
static size_t model(const char *in, size_t n, int stuff,
                    unsigned long long max, char *out)
{
    size_t i = 0, o = 0;
    int in_body = 0, done = 0;
    unsigned long long body = 0;

    while (i < n && !done) {
        size_t start = i, len;
        while (i < n && in[i] != '\r' && in[i] != '\n')
            i++;
        len = i - start;
        if (i < n) {
            if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
                i++;
            i++;
        }
        if (stuff && len && in[start] == '.')
            out[o++] = '.';
        memcpy(out + o, in + start, len);
        o += len;
        out[o++] = '\r';
        out[o++] = '\n';
        if (!in_body) {
            if (len == 0) {
                in_body = 1;
                if (max == 0)
                    done = 1;
            }
        } else if (++body >= max) {
            done = 1;
        }
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in;
    char *o1, *o2, *o3, *o4;
    size_t n, cut, l1, l2, l3, l4, i;
    unsigned long long max, fsize;
    int stuff, d1, d2, d3;

    if (size < 3 || size > (1u << 16))
        return 0;
    stuff = data[0] & 1;
    max = data[0] & 2 ? POP3_ENC_ALL : (unsigned long long)(data[0] >> 2) % 6;
    in = (const char *)data + 3;
    n = size - 3;
    cut = ((size_t)data[1] << 8 | data[2]) % (n + 1);
    o1 = malloc(2 * n + 4);
    o2 = malloc(2 * n + 4);
    o3 = malloc(2 * n + 4);
    o4 = malloc(2 * n + 4);
    if (!o1 || !o2 || !o3 || !o4)
        abort();
    l1 = run(in, n, stuff, max, n, 0, o1, &d1);
    l2 = run(in, n, stuff, max, cut, 0, o2, &d2);
    l3 = run(in, n, stuff, max, 0, 1, o3, &d3);
    if (l1 != l2 || l1 != l3 || d1 != d2 || d1 != d3 ||
        memcmp(o1, o2, l1) != 0 || memcmp(o1, o3, l1) != 0)
        abort();
    l4 = model(in, n, stuff, max, o4);
    if (l4 != l1 || memcmp(o1, o4, l1) != 0)
        abort();
    for (i = 0; i < l1; i++) {
        if (o1[i] == '\r' && (i + 1 == l1 || o1[i + 1] != '\n'))
            abort();
        if (o1[i] == '\n' && (i == 0 || o1[i - 1] != '\r'))
            abort();
    }
    if (l1 && (l1 < 2 || memcmp(o1 + l1 - 2, "\r\n", 2) != 0))
        abort();
    if (stuff && ((l1 >= 3 && memcmp(o1, ".\r\n", 3) == 0) ||
                  memmem(o1, l1, "\r\n.\r\n", 5)))
        abort();
    if (!stuff && max == POP3_ENC_ALL) {
        if (memfd == -1 && (memfd = memfd_create("msg", 0)) == -1)
            abort();
        if (ftruncate(memfd, 0) == -1 ||
            pwrite(memfd, in, n, 0) != (ssize_t)n ||
            lseek(memfd, 0, SEEK_SET) != 0)
            abort();
        if (pop3_enc_size_fd(memfd, &fsize) != 0 || fsize != l1)
            abort();
    }
    free(o1);
    free(o2);
    free(o3);
    free(o4);
    return 0;
}
