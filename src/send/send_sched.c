/* send_sched.c: job FIFO and timer heap for qmail-send.  See send_sched.h. */
#include "send_sched.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static int grow(struct send_job **v, size_t *cap)
{
    size_t ncap = *cap ? *cap * 2 : 64;
    struct send_job *n;

    if (ncap > SIZE_MAX / sizeof **v) {
        errno = ENOMEM;
        return -1;
    }
    n = realloc(*v, ncap * sizeof **v);
    if (!n)
        return -1;
    *v = n;
    *cap = ncap;
    return 0;
}

int send_fifo_push(struct send_fifo *f, struct send_msg *m, size_t rcpt)
{
    if (f->n == f->cap) {
        size_t oldcap = f->cap, i;
        if (grow(&f->v, &f->cap) == -1)
            return -1;
        /* unwrap: move the wrapped part after the old end */
        if (f->head + f->n > oldcap) {
            size_t wrapped = f->head + f->n - oldcap;
            for (i = 0; i < wrapped; i++)
                f->v[oldcap + i] = f->v[i];
        }
    }
    {
        size_t pos = (f->head + f->n) % f->cap;
        f->v[pos].msg = m;
        f->v[pos].rcpt = rcpt;
        f->v[pos].when = 0;
    }
    f->n++;
    return 0;
}

int send_fifo_pop(struct send_fifo *f, struct send_job *out)
{
    if (f->n == 0)
        return 0;
    *out = f->v[f->head];
    f->head = (f->head + 1) % f->cap;
    f->n--;
    if (f->n == 0)
        f->head = 0;
    return 1;
}

static void swap(struct send_job *a, struct send_job *b)
{
    struct send_job t = *a;
    *a = *b;
    *b = t;
}

int send_heap_push(struct send_heap *h, struct send_msg *m, size_t rcpt,
                   int64_t when)
{
    size_t i;

    if (h->n == h->cap && grow(&h->v, &h->cap) == -1)
        return -1;
    i = h->n++;
    h->v[i].msg = m;
    h->v[i].rcpt = rcpt;
    h->v[i].when = when;
    while (i > 0 && h->v[(i - 1) / 2].when > h->v[i].when) {
        swap(&h->v[(i - 1) / 2], &h->v[i]);
        i = (i - 1) / 2;
    }
    return 0;
}

const struct send_job *send_heap_top(const struct send_heap *h)
{
    return h->n ? &h->v[0] : 0;
}

int send_heap_pop(struct send_heap *h, struct send_job *out)
{
    size_t i = 0;

    if (h->n == 0)
        return 0;
    *out = h->v[0];
    h->v[0] = h->v[--h->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l].when < h->v[m].when)
            m = l;
        if (r < h->n && h->v[r].when < h->v[m].when)
            m = r;
        if (m == i)
            break;
        swap(&h->v[i], &h->v[m]);
        i = m;
    }
    return 1;
}

int64_t send_next_try(int64_t birth, int64_t now, int64_t skip)
{
    int64_t k = 1;

    if (skip <= 0)
        skip = 1;
    if (now < birth)
        return birth + skip * skip;
    /* smallest k with birth + (skip*k)^2 > now; start near sqrt */
    while (k < 3037000499 / skip && birth + (skip * k) * (skip * k) <= now)
        k = k < 64 ? k + 1 : k + k / 8;
    while (k > 1 && birth + (skip * (k - 1)) * (skip * (k - 1)) > now)
        k--;
    return birth + (skip * k) * (skip * k);
}
