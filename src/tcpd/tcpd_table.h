/*
 * tcpd_table: qmail-tcpd's record of the sessions it runs, for the global
 * and per-address limits and the log line when a session ends.
 *
 * A fixed array of max slots, allocated once; two chained hash tables
 * over it find a slot by pid (when a child is reaped) and count the
 * slots of one client (the per-address limit).  The address hash is
 * keyed with a random seed so that clients cannot choose addresses that
 * all fall in one chain; even then a lookup costs at most max steps.
 * Nothing is allocated per connection.
 */
#ifndef TCPD_TABLE_H
#define TCPD_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tcpd_addr.h"

#define TCPD_TABLE_MAX 100000 /* the largest -c */

typedef struct tcpd_conn {
    pid_t pid;                    /* 0: free */
    unsigned char key[16];        /* tcpd_addr_limit_key */
    char ip[TCPD_ADDR_STRMAX];    /* remote address, for the log */
    unsigned port;                /* remote port, for the log */
    int64_t start_ms;             /* monotonic start time */
    int32_t next_pid, next_key;   /* chains (-1 ends); next_pid also
                                     links the free list */
} tcpd_conn;

typedef struct tcpd_table {
    tcpd_conn *slot;
    size_t max, used;
    int32_t *pid_head, *key_head;
    size_t mask;                  /* buckets - 1, a power of two */
    int32_t free_head;
    uint64_t seed;
} tcpd_table;

/* Room for max sessions (1..TCPD_TABLE_MAX).  Returns 0 or -1 (errno). */
int tcpd_table_init(tcpd_table *t, size_t max, uint64_t seed);
void tcpd_table_free(tcpd_table *t);
/* Sessions running for the client key. */
size_t tcpd_table_count(const tcpd_table *t, const unsigned char key[16]);
/* A slot for pid, with key set and the other fields zero, or NULL when
 * the table is full. */
tcpd_conn *tcpd_table_add(tcpd_table *t, pid_t pid,
                          const unsigned char key[16]);
/* Remove pid: 1 (and its record in *out when out is not NULL), or 0 if
 * pid is not in the table. */
int tcpd_table_remove(tcpd_table *t, pid_t pid, tcpd_conn *out);

#endif
