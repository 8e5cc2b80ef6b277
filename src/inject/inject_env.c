/*
 * inject_env.c: build qmail-queue's envelope.  See inject_env.h.
 * Duplicates are found with an open-addressing hash set over the records
 * already written, so 100,000 recipients cost linear time.
 */
#include "inject_env.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

/* The address of the T record at offset off. */
static const char *rec_addr(const inject_env *e, size_t off, size_t *len)
{
    const char *p = e->buf.s + off + 1;
    *len = strlen(p); /* records are NUL-terminated, addresses NUL-free */
    return p;
}

static int grow(inject_env *e)
{
    size_t n = e->nslots ? e->nslots * 2 : 64, i;
    size_t *slots;

    if (n > SIZE_MAX / sizeof(size_t)) {
        errno = ENOMEM;
        return -1;
    }
    slots = calloc(n, sizeof(size_t));
    if (!slots) {
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; i < e->nslots; i++) {
        size_t off, len, h;
        const char *a;
        if (!e->slots[i])
            continue;
        off = e->slots[i] - 1;
        a = rec_addr(e, off, &len);
        h = hash_bytes(a, len) & (n - 1);
        while (slots[h])
            h = (h + 1) & (n - 1);
        slots[h] = e->slots[i];
    }
    free(e->slots);
    e->slots = slots;
    e->nslots = n;
    return 0;
}

int inject_env_sender(inject_env *e, const char *s, size_t len)
{
    if (dstr_catc(&e->buf, 'F') == -1 || dstr_catb(&e->buf, s, len) == -1 ||
        dstr_catc(&e->buf, 0) == -1)
        return -1;
    return 0;
}

int inject_env_rcpt(inject_env *e, const char *s, size_t len)
{
    size_t h, off;

    if ((e->nrcpts + 1) * 2 > e->nslots && grow(e) == -1)
        return -1;
    h = hash_bytes(s, len) & (e->nslots - 1);
    while (e->slots[h]) {
        size_t alen;
        const char *a = rec_addr(e, e->slots[h] - 1, &alen);
        if (alen == len && memcmp(a, s, len) == 0)
            return 0;
        h = (h + 1) & (e->nslots - 1);
    }
    off = e->buf.len;
    if (dstr_catc(&e->buf, 'T') == -1 || dstr_catb(&e->buf, s, len) == -1 ||
        dstr_catc(&e->buf, 0) == -1)
        return -1;
    e->slots[h] = off + 1;
    e->nrcpts++;
    return 1;
}

int inject_env_finish(inject_env *e)
{
    return dstr_catc(&e->buf, 0);
}

void inject_env_free(inject_env *e)
{
    dstr_free(&e->buf);
    free(e->slots);
    e->slots = 0;
    e->nslots = 0;
    e->nrcpts = 0;
}
