/*
 * qsandbox: enter the sandbox of a server that queues mail through
 * qqueue (qmail-smtpd, qmail-qmtpd, qmail-qmqpd).
 *
 * The profile is widened for what qqueue will run: mini-qmail's
 * qmail-qmqpc needs TCP, and a $QMAILQUEUE filter may touch any path (it
 * then keeps only the seccomp filter).  The one program the sandbox may
 * execute is the one qqueue_program() picks.
 */
#ifndef QSANDBOX_H
#define QSANDBOX_H

#include "sandbox.h"

/* Call with the current directory at the home.  Returns what
 * sandbox_enter() returns (1 off, 0 in place, -1 failed: exit 111). */
int qsandbox_enter(const sandbox_profile *base);

#endif
