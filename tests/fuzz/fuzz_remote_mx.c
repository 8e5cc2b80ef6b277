// fuzz-sources: src/remote/remote_mx.c
// fuzz-dict: tests/fuzz/remote.dict
/*
 * libFuzzer harness: MX RDATA as the resolver hands it to qmail-remote,
 * and the order of the exchangers.  The input is a series of records,
 * each a length octet and that many octets of RDATA, up to 64; a record
 * cut short by the end of the input is offered with what there is.
 * Checks: a parsed record's preference is its first two octets, its name
 * is lower case, "" or a valid host name (remote_name_valid), and encodes
 * back to exactly the RDATA (case aside); remote_dname_text on the raw
 * octets never claims more than it had; remote_name_valid agrees with a
 * model; remote_mx_null holds exactly for one record naming the root;
 * sorting (with the input's octets as the random numbers) yields a
 * permutation ordered by preference.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/remote/remote_mx.h"

#define MAXREC 64

static remote_mx mx[MAXREC], copy[MAXREC];

struct rnd {
    const uint8_t *p;
    size_t n, i;
    int out_of_range;
};

static unsigned rnd(void *arg, unsigned bound)
{
    struct rnd *r = arg;
    unsigned v = r->n ? r->p[r->i++ % r->n] : 0;
    if (bound == 0)
        r->out_of_range = 1;
    return bound ? v % bound : 0;
}

static int valid_model(const char *s, size_t len)
{
    size_t i, label = 0;
    if (len == 0 || len > 253)
        return 0;
    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63)
                return 0;
            label = 0;
            continue;
        }
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return 0;
        label++;
    }
    return 1;
}

static int cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(remote_mx));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0, n = 0, i, used;
    char name[REMOTE_NAME_MAX + 1];
    unsigned char wire[REMOTE_NAME_MAX + 2];
    struct rnd rs = {data, size, 0, 0};

    if (size > 65536)
        return 0;
    if (remote_name_valid((const char *)data, size) !=
        valid_model((const char *)data, size))
        abort();
    if (remote_dname_text(data, size, &used, name) == 0) {
        if (used > size || used < 1 || data[used - 1] != 0 ||
            strlen(name) > REMOTE_NAME_MAX ||
            (name[0] && !remote_name_valid(name, strlen(name))))
            abort();
    }
    while (pos < size && n < MAXREC) {
        size_t len = data[pos++];
        const unsigned char *rd = data + pos;
        remote_mx m;

        if (len > size - pos)
            len = size - pos;
        pos += len;
        memset(&m, 0, sizeof m);
        if (remote_mx_parse(rd, len, &m) == -1)
            continue;
        if (len < 3 || m.pref != ((unsigned)rd[0] << 8 | rd[1]))
            abort();
        used = strlen(m.name);
        if (used && !remote_name_valid(m.name, used))
            abort();
        /* encode back */
        {
            size_t o = 0, s = 0;
            while (s < used) {
                const char *dot = memchr(m.name + s, '.', used - s);
                size_t l = dot ? (size_t)(dot - (m.name + s)) : used - s;
                wire[o++] = (unsigned char)l;
                memcpy(wire + o, m.name + s, l);
                o += l;
                s += l + (dot ? 1 : 0);
            }
            wire[o++] = 0;
            if (o != len - 2)
                abort();
            for (i = 0; i < o; i++) {
                unsigned char c = rd[2 + i];
                if (c >= 'A' && c <= 'Z')
                    c += 32;
                if (wire[i] != c)
                    abort();
            }
        }
        mx[n++] = m;
    }
    if (remote_mx_null(mx, n) != (n == 1 && mx[0].name[0] == 0))
        abort();
    memcpy(copy, mx, n * sizeof mx[0]);
    remote_mx_sort(mx, n, rnd, &rs);
    if (rs.out_of_range)
        abort();
    for (i = 1; i < n; i++)
        if (mx[i - 1].pref > mx[i].pref)
            abort();
    qsort(copy, n, sizeof copy[0], cmp);
    {
        static remote_mx sorted[MAXREC];
        memcpy(sorted, mx, n * sizeof mx[0]);
        qsort(sorted, n, sizeof sorted[0], cmp);
        if (memcmp(sorted, copy, n * sizeof copy[0]) != 0)
            abort();
    }
    return 0;
}
