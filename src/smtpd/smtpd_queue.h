/*
 * smtpd_queue: our Received line.  The message itself is streamed to
 * qmail-queue through src/mail/qqueue.c (qqueue_*).
 */
#ifndef SMTPD_QUEUE_H
#define SMTPD_QUEUE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "qqueue.h"
#include "dstr.h"

/* Our Received line (two lines, LF-terminated) for a message received
 * from a client that said helo, at remoteip (remotehost if known), by me,
 * over protocol ("ESMTP" or "SMTP"), at time t.  Every untrusted part is
 * reduced to a safe character set and bounded, so nothing a client says
 * can end the line or the field. */
int smtpd_received(dstr *out, const char *helo, const char *remotehost,
                   const char *remoteip, const char *me,
                   const char *protocol, time_t t);

#endif
