/*
 * remote_deliver: one delivery attempt of qmail-remote: route, DNS, then
 * the addresses in turn until one SMTP (or QMTP) session decides the
 * recipients.
 *
 * An address that refused a connection or timed out is recorded in the
 * tcpto file (remote_tcpto.h), and an address recorded there is skipped
 * for a while.  A session that ends before MAIL was answered (bad
 * greeting, EHLO and HELO refused, connection lost) moves on to the next
 * address.  When no address decided anything, every recipient fails
 * temporarily with a summary of what each address did, except when every
 * address was reached and refused us with 5xx (permanent).
 *
 * A domain that control/qmtproutes names is first tried by QMTP
 * (remote_qmtp.h) over that route.  When no QMTP address accepts a
 * connection and control/qmtpfallback allows it (the default), the same
 * attempt goes on by SMTP as for any other domain (smtproutes, MX);
 * otherwise the QMTP outcome stands.
 */
#ifndef REMOTE_DELIVER_H
#define REMOTE_DELIVER_H

#include "remote_conf.h"
#include "remote_out.h"
#include "remote_smtp.h"

/* Decide every recipient of job still undecided, for domain (lower case,
 * valid), and set msg, the message record.  job's helohost and timeout
 * are taken from conf.  Returns 0, or -1 when out of memory. */
int remote_deliver(const char *domain, const remote_conf *conf,
                   remote_job *job, remote_outcome *msg);

#endif
