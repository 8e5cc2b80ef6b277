/*
 * inject_queue: the program qmail-inject hands the message to:
 * $QMAILQUEUE (a relative one taken relative to where we were started),
 * else qmail-queue beside our binary.  Running it and streaming the
 * message is src/mail/qqueue.c's job.
 */
#ifndef INJECT_QUEUE_H
#define INJECT_QUEUE_H

#include "dstr.h"

/* The program to run: $QMAILQUEUE when set and non-empty, else
 * BINDIR/qmail-queue (BINDIR/qmail-qmqpc on a mini-qmail host, see
 * qqueue_default_program in src/mail/qqueue.h).  A relative $QMAILQUEUE is taken relative to cwd,
 * which the caller passes (NULL: as is).  Returns 0 or -1 (ENOENT when the
 * binaries' directory is unknown). */
int inject_queue_program(dstr *out, const char *cwd);

#endif
