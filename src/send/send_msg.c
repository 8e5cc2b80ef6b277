/* send_msg.c: qmail-send's message table.  See send_msg.h. */
#include "send_msg.h"

#include <stdlib.h>
#include <string.h>

#include "num.h"

#define TABLE_SIZE 65536

static struct send_msg *table[TABLE_SIZE];
static size_t count;

static unsigned hash(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++) {
        h ^= (unsigned char)*id;
        h *= 16777619u;
    }
    return h % TABLE_SIZE;
}

struct send_msg *send_msg_find(const char *id)
{
    struct send_msg *m;
    for (m = table[hash(id)]; m; m = m->hnext)
        if (strcmp(m->id, id) == 0)
            return m;
    return 0;
}

int send_msg_add(struct send_msg *m)
{
    unsigned h = hash(m->id);
    m->hnext = table[h];
    table[h] = m;
    count++;
    return 0;
}

void send_msg_remove(struct send_msg *m)
{
    struct send_msg **p;
    for (p = &table[hash(m->id)]; *p; p = &(*p)->hnext)
        if (*p == m) {
            *p = m->hnext;
            count--;
            return;
        }
}

size_t send_msg_count(void) { return count; }

void send_msg_free(struct send_msg *m)
{
    size_t i;
    for (i = 0; i < m->env.nrcpts; i++) {
        if (m->reason)
            free(m->reason[i]);
        if (m->qualified)
            free(m->qualified[i]);
        if (m->route)
            free(m->route[i]);
    }
    free(m->reason);
    free(m->qualified);
    free(m->route);
    free(m->where);
    free(m->tries);
    free(m->chan);
    queue_env_free(&m->env);
    free(m);
}

int64_t send_msg_arrival(const char *id)
{
    unsigned long long sec, usec;
    size_t n = num_scan_prefix(id, strlen(id), &sec);
    size_t k;

    if (n == 0 || id[n] != '.')
        return 0;
    k = num_scan_prefix(id + n + 1, strlen(id + n + 1), &usec);
    if (k == 0)
        return 0;
    return (int64_t)sec * 1000000 + (int64_t)usec;
}
