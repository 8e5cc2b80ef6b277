/*
 * remote_qmtp: one QMTP client session (cr.yp.to/proto/qmtp.txt) on a
 * connected socket, for the recipients still undecided in a job.
 *
 * The client sends one package, three netstrings:
 *
 *   netstring( 0x0a message )      the message in the LF form: lines end
 *                                  in LF, as queued; sent as it is
 *   netstring( sender )
 *   netstring( netstring(recipient) netstring(recipient) ... )
 *
 * and the server answers one netstring per recipient, in order: 'K'
 * (accepted), 'Z' (temporary failure) or 'D' (permanent failure), then
 * text.  We send one package per connection and close it.
 *
 * Outcomes: each recipient gets its own response.  Until the whole
 * package is sent nothing is decided: a connection lost on the way makes
 * the session end with REMOTE_SMTP_NEXT_TEMP and the caller tries the
 * next host (the server must throw an incomplete package away).  After
 * that, a missing or malformed response (not a netstring, longer than
 * REMOTE_QMTP_REPLY_MAX, or another first byte) leaves that recipient and
 * every later one temporary: the message may arrive twice, never not at
 * all.
 *
 * Trust: the server is anyone; responses are bounded and deadlined (the
 * job's timeout on every read and write), and their text only reaches
 * our output sanitized (remote_out.h).
 */
#ifndef REMOTE_QMTP_H
#define REMOTE_QMTP_H

#include "dstr.h"
#include "remote_smtp.h"

#define REMOTE_QMTP_PORT 209
#define REMOTE_QMTP_REPLY_MAX 4096

/* Run a session on fd (non-blocking; closed here) with the server
 * described by who ("name [address]").  Returns REMOTE_SMTP_DONE when
 * every undecided recipient was decided, REMOTE_SMTP_NEXT_TEMP with why
 * set when nothing was, -1 only when out of memory. */
int remote_qmtp(int fd, const char *who, remote_job *job, dstr *why);

#endif
