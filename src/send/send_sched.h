/*
 * send_sched: qmail-send's job queues.  A job is one recipient of one
 * message.  Ready jobs wait in a FIFO for a free delivery slot; deferred
 * jobs wait in a min-heap keyed by the time of their next try.  Both grow
 * as needed; pushing fails only when memory runs out.
 */
#ifndef SEND_SCHED_H
#define SEND_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct send_msg;

struct send_job {
    struct send_msg *msg;
    size_t rcpt;      /* index into msg's recipients */
    int64_t when;     /* heap only: unix seconds of the next try */
};

struct send_fifo {
    struct send_job *v;
    size_t head, n, cap;
};

struct send_heap {
    struct send_job *v;
    size_t n, cap;
};

int send_fifo_push(struct send_fifo *f, struct send_msg *m, size_t rcpt);
int send_fifo_pop(struct send_fifo *f, struct send_job *out);

int send_heap_push(struct send_heap *h, struct send_msg *m, size_t rcpt,
                   int64_t when);
/* The earliest job, or NULL when empty. */
const struct send_job *send_heap_top(const struct send_heap *h);
int send_heap_pop(struct send_heap *h, struct send_job *out);

/* qmail's back-off: tries at birth + (skip * k)^2 seconds, k = 1, 2, ...
 * Returns the first such time after now. */
int64_t send_next_try(int64_t birth, int64_t now, int64_t skip);

#endif
