/*
 * qmqpc_send: one QMQP session (cr.yp.to/proto/qmqp.html) with one
 * server: connect, send the whole message and envelope as one netstring,
 * read the server's one reply.
 *
 * What goes on the wire is
 *
 *   netstring( netstring(message) netstring(sender)
 *              netstring(recipient) ... )
 *
 * with the message as queued (lines end in LF).  QMQP announces the total
 * length first, so the message was spooled beforehand (its length is
 * known) and is streamed from there, never held in memory.
 *
 * The reply is one netstring: 'K' (accepted for every recipient), 'Z'
 * (temporary failure) or 'D' (permanent failure), then text for humans.
 * Anything else (no reply, a reply that is not a netstring, longer than
 * QMQPC_REPLY_MAX, or starting with another byte) means the server did
 * not answer.
 *
 * Deadlines: timeoutconnect for the connection; timeout for every write
 * and read; and QMQPC_SESSION_MAX seconds for the whole session, as the
 * protocol asks.
 *
 * Trust: the server's reply is bounded and only ever reaches a log line
 * (which makes it printable).
 */
#ifndef QMQPC_SEND_H
#define QMQPC_SEND_H

#include <stdint.h>

#include "dstr.h"
#include "qmqpc_server.h"

#define QMQPC_REPLY_MAX 4096
#define QMQPC_SESSION_MAX 3600

typedef struct qmqpc_job {
    int msgfd;              /* the message, read with pread from 0 */
    uint64_t msglen;
    const dstr *envelope;   /* netstrings of the sender and recipients */
    int timeoutconnect;     /* seconds */
    int timeout;            /* seconds for each read and write */
} qmqpc_job;

/* Outcome of a session: the reply's letter, or QMQPC_NO_ANSWER. */
#define QMQPC_NO_ANSWER 0

/* Run one session with srv.  Returns 'K', 'Z', 'D' with the reply's text
 * (after the letter) in text, or QMQPC_NO_ANSWER with what went wrong in
 * text; -1 only when out of memory. */
int qmqpc_send(const qmqpc_server *srv, const qmqpc_job *job, dstr *text);

#endif
