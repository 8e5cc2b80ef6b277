/*
 * tcpd_table.c: the session table of qmail-tcpd.  See tcpd_table.h.
 */
#include "tcpd_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t pid_bucket(const tcpd_table *t, pid_t pid)
{
    uint64_t h = (uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & t->mask;
}

/* A keyed mix of the 16 key bytes (not cryptographic: the seed is
 * secret and a chain can be no longer than the table anyway). */
static size_t key_bucket(const tcpd_table *t, const unsigned char key[16])
{
    uint64_t h = t->seed, w;
    int i, j;

    for (i = 0; i < 2; i++) {
        w = 0;
        for (j = 0; j < 8; j++)
            w = (w << 8) | key[8 * i + j];
        h ^= w;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
    }
    return (size_t)h & t->mask;
}

int tcpd_table_init(tcpd_table *t, size_t max, uint64_t seed)
{
    size_t buckets = 1, i;

    memset(t, 0, sizeof *t);
    if (max < 1 || max > TCPD_TABLE_MAX) {
        errno = EINVAL;
        return -1;
    }
    while (buckets < max)
        buckets <<= 1;
    t->slot = calloc(max, sizeof *t->slot);
    t->pid_head = malloc(buckets * sizeof *t->pid_head);
    t->key_head = malloc(buckets * sizeof *t->key_head);
    if (!t->slot || !t->pid_head || !t->key_head) {
        tcpd_table_free(t);
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; i < buckets; i++)
        t->pid_head[i] = t->key_head[i] = -1;
    for (i = 0; i < max; i++)
        t->slot[i].next_pid = i + 1 < max ? (int32_t)(i + 1) : -1;
    t->free_head = 0;
    t->max = max;
    t->mask = buckets - 1;
    t->seed = seed;
    return 0;
}

void tcpd_table_free(tcpd_table *t)
{
    free(t->slot);
    free(t->pid_head);
    free(t->key_head);
    memset(t, 0, sizeof *t);
}

size_t tcpd_table_count(const tcpd_table *t, const unsigned char key[16])
{
    int32_t i = t->key_head[key_bucket(t, key)];
    size_t n = 0;

    while (i != -1) {
        if (memcmp(t->slot[i].key, key, 16) == 0)
            n++;
        i = t->slot[i].next_key;
    }
    return n;
}

tcpd_conn *tcpd_table_add(tcpd_table *t, pid_t pid,
                          const unsigned char key[16])
{
    int32_t i = t->free_head;
    tcpd_conn *c;
    size_t pb, kb;

    if (i == -1 || pid <= 0)
        return 0;
    c = &t->slot[i];
    t->free_head = c->next_pid;
    memset(c, 0, sizeof *c);
    c->pid = pid;
    memcpy(c->key, key, 16);
    pb = pid_bucket(t, pid);
    kb = key_bucket(t, key);
    c->next_pid = t->pid_head[pb];
    t->pid_head[pb] = i;
    c->next_key = t->key_head[kb];
    t->key_head[kb] = i;
    t->used++;
    return c;
}

int tcpd_table_remove(tcpd_table *t, pid_t pid, tcpd_conn *out)
{
    int32_t *link = &t->pid_head[pid_bucket(t, pid)];
    int32_t i;
    tcpd_conn *c;

    while (*link != -1 && t->slot[*link].pid != pid)
        link = &t->slot[*link].next_pid;
    if (*link == -1)
        return 0;
    i = *link;
    c = &t->slot[i];
    *link = c->next_pid;
    link = &t->key_head[key_bucket(t, c->key)];
    while (*link != -1 && *link != i)
        link = &t->slot[*link].next_key;
    if (*link == i) /* always: every used slot is on its key's chain */
        *link = c->next_key;
    if (out)
        *out = *c;
    memset(c, 0, sizeof *c);
    c->next_pid = t->free_head;
    c->next_key = -1;
    t->free_head = i;
    t->used--;
    return 1;
}
