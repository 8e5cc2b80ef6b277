/*
 * smtpd_queue.c: the Received line.  See smtpd_queue.h.
 *
 * The line itself is built by src/mail/received.c.
 */
#include "smtpd_queue.h"

#include "received.h"


int smtpd_received(dstr *out, const char *helo, const char *remotehost,
                   const char *remoteip, const char *me,
                   const char *protocol, time_t t)
{
    /* the line is shared with qmail-qmtpd and qmail-qmqpd (received.c) */
    return received_line(out, helo, remotehost, remoteip, me, protocol, t);
}
