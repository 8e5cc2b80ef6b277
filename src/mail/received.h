/*
 * received: the Received line a receiving server (qmail-smtpd,
 * qmail-qmtpd, qmail-qmqpd) puts on top of every message it queues.
 *
 *   Received: from HELO (REMOTEHOST [REMOTEIP])
 *   <TAB>by ME with PROTOCOL; DATE
 *
 * Every part that comes from the client or the network (HELO, the host
 * name from reverse DNS, even the address) is reduced to a safe character
 * set and bounded, so nothing a client says can end the line or the
 * field, or open a comment.
 */
#ifndef RECEIVED_H
#define RECEIVED_H

#include <time.h>

#include "dstr.h"

/* Replace out with our Received line (two lines, LF-terminated).  helo is
 * what the client called itself, or NULL for protocols without a greeting
 * (QMTP, QMQP): the from clause then names remotehost, else "unknown".
 * remotehost and remoteip may be "" (unknown); protocol is e.g. "ESMTP",
 * "QMTP".  Returns 0, or -1 (ENOMEM). */
int received_line(dstr *out, const char *helo, const char *remotehost,
                  const char *remoteip, const char *me, const char *protocol,
                  time_t t);

#endif
