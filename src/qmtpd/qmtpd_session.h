/*
 * qmtpd_session: the two protocols as explicit state machines over one
 * connection (input on a qmtpd_in, replies written to an fd).
 *
 *   QMTP (qmail-qmtpd): packages, one after another, until the client
 *   closes.  Each package is a message netstring (first byte: its
 *   encoding), a sender netstring and a netstring holding the recipient
 *   netstrings; the answer is one K/Z/D netstring per recipient, in order,
 *   sent only once the whole package has arrived.
 *
 *     MESSAGE -> SENDER -> RCPTS -> REPLY -> MESSAGE ... -> CLOSE
 *
 *   QMQP (qmail-qmqpd): one netstring holding the message, the sender and
 *   the recipients as netstrings; one K/Z/D answer; then the server closes.
 *
 *     PACKAGE -> MESSAGE -> SENDER -> RCPTS -> REPLY -> CLOSE
 *
 * A framing error (a malformed or oversized netstring, a length that
 * lies) ends the connection after one D reply naming the problem; a
 * timeout inside a package after one Z reply (a timeout between packages,
 * with nothing to answer, silently); a connection closed inside a package
 * ends it silently.  In every such case the package's message is abandoned, never
 * queued.  Packages answered before stay answered.
 *
 * Trusts nothing from the client.  QMTP applies qmail-smtpd's relay rules
 * and recipient check to each recipient; QMQP trusts its clients (the
 * listener's access rules decide who they are) and checks only that the
 * envelope is well-formed and bounded.
 */
#ifndef QMTPD_SESSION_H
#define QMTPD_SESSION_H

#include "qmtpd_conf.h"
#include "qmtpd_io.h"

/* Serve one QMTP connection.  Returns the number of messages queued. */
unsigned long qmtpd_qmtp_run(const qmtpd_conf *c, qmtpd_in *in, int outfd);
/* Serve one QMQP connection.  Returns 1 if the message was queued. */
unsigned long qmtpd_qmqp_run(const qmtpd_conf *c, qmtpd_in *in, int outfd);

/* Largest message netstring accepted (QMTP may shrink by CRLF -> LF, so
 * up to twice databytes is read through before refusing). */
unsigned long long qmtpd_msg_max(const qmtpd_conf *c, int qmtp);

#endif
