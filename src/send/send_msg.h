/*
 * send_msg: qmail-send's view of one queued message: its envelope (from
 * the queue file), per-recipient channel and progress.
 */
#ifndef SEND_MSG_H
#define SEND_MSG_H

#include <stddef.h>
#include <stdint.h>
#include "queue.h"

struct send_msg {
    char id[QUEUE_ID_MAX + 1];
    queue_env env;        /* sender, recipients, states from the file */
    char *chan;           /* per recipient: 'L' local, 'R' remote */
    char **reason;        /* per recipient: failure text, malloc()ed */
    char **qualified;     /* per recipient: "addr@envnoathost" when the
                             envelope had no '@', malloc()ed; the rcpt's
                             addr then points here */
    char **route;         /* per recipient: the address qmail-lspawn gets
                             when it differs (virtualdomains, percenthack),
                             malloc()ed, else NULL */
    char *where;          /* per recipient: 'F' ready queue, 'H' retry heap,
                             'W' waiting for its destination, 'S' being
                             delivered, 0 settled */
    size_t qrefs;         /* queue entries pointing here */
    size_t unmarked;      /* 1 + the delivered recipient whose D mark was
                             skipped (the file is removed next), or 0 */
    int dead;             /* finished: freed when qrefs drops to 0 */
    unsigned char *tries; /* per recipient: earlier tries that may have
                             delivered part of it (1 = maybe) */
    int64_t arrival_us;   /* from the id: when qmail-queue accepted it */
    size_t todo;          /* recipients in state T */
    size_t inflight;      /* deliveries running now */
    int bounce_failed;    /* a bounce could not be queued: retry later */
    unsigned char lane;   /* which ready FIFOs its jobs go to: 0 new
                             (announced by the trigger), 1 old (found by
                             the scan, or deferred once) */
    struct send_msg *hnext;
};

/* Message table keyed by id. */
struct send_msg *send_msg_find(const char *id);
int send_msg_add(struct send_msg *m);
void send_msg_remove(struct send_msg *m);
size_t send_msg_count(void);
void send_msg_free(struct send_msg *m);

/* Arrival time in microseconds encoded in an id, 0 if it has none. */
int64_t send_msg_arrival(const char *id);

/* Build the bounce for m's recipients in state B and hand it to
 * qmail-queue (bindir/qmail-queue) with envelope sender envfrom ("" for a
 * bounce, "#@[]" for a double bounce) and recipient to.
 * bouncefrom@bouncehost is its From:.  Returns 0 when queued, -1
 * otherwise (logged). */
int send_bounce(struct send_msg *m, const char *to, const char *envfrom,
                const char *bindir, const char *me, const char *bouncefrom,
                const char *bouncehost);

#endif
