/*
 * qmqpc_input: what qmail-qmqpc reads from its caller, with the
 * qmail-queue protocol (qmail-queue(8)): the message on fd 0 to end of
 * file, then the envelope on fd 1.
 *
 * The message is spooled into an anonymous memory file (QMQP needs its
 * length before its first byte), behind our Received line.  The envelope
 * is checked exactly as qmail-queue checks it (the grammar, at most
 * QUEUE_ADDR_MAX bytes per address without control characters,
 * QUEUE_RCPT_MAX recipients, QUEUE_ENV_MAX bytes) and turned into the
 * QMQP form: the netstring of the sender, then one per recipient.
 *
 * Trust: both come from any local user; nothing of either is interpreted.
 */
#ifndef QMQPC_INPUT_H
#define QMQPC_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "dstr.h"

/* Copy fd in into a new memory file that starts with head.  Returns 0
 * with *out and *len set, or a qmail-queue exit code (QQ_READ, QQ_WRITE,
 * QQ_NOMEM) with errno. */
int qmqpc_spool(int in, const dstr *head, int *out, uint64_t *len);
/* Read and check the envelope from fd in; append its QMQP form to out.
 * Returns 0 with *nrcpts set, or a qmail-queue exit code (QQ_ENVELOPE,
 * QQ_ADDR_TOO_LONG, QQ_READ, QQ_NOMEM) with a reason in *why. */
int qmqpc_envelope(int in, dstr *out, size_t *nrcpts, const char **why);

#endif
