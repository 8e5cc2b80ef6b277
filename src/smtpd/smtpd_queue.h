/*
 * smtpd_queue: hand one message to qmail-queue (or $QMAILQUEUE) while it
 * arrives, and build our Received line.
 *
 * qmail-queue reads the message on its fd 0 and then the envelope on its
 * fd 1 (qmail-queue(8)); its exit code is the verdict.  The message is
 * streamed through a pipe as it arrives, so memory stays bounded whatever
 * its size.  A message we refuse is abandoned: the child is killed and
 * gets no envelope, so nothing is queued.
 *
 * Waits are bounded: writes have a deadline, and the wait for qmail-queue's
 * exit too (it is then killed and the message reported as not queued: at
 * worst a duplicate, never a loss).
 */
#ifndef SMTPD_QUEUE_H
#define SMTPD_QUEUE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "bio.h"
#include "dstr.h"

/* finish() results beyond qmail-queue's own exit codes (0..255) */
#define SMTPD_QQ_CRASHED 256   /* 256 + signal number */
#define SMTPD_QQ_TIMEOUT 1000  /* it did not exit in time: killed */
#define SMTPD_QQ_WAITERR 1001  /* could not wait for it */

typedef struct smtpd_qq {
    pid_t pid;
    int pidfd;          /* -1 if the kernel has none: plain waitpid */
    int envfd;
    int failed;         /* a write failed: the message is not queued */
    int timeout;        /* seconds, per write and for the exit */
    bio msg;
    char buf[65536];
} smtpd_qq;

/* The program to run: $QMAILQUEUE, else qmail-queue beside our binary. */
int smtpd_qq_program(dstr *out);
/* Start it.  Returns 0, or -1 with errno (also when exec failed). */
int smtpd_qq_start(smtpd_qq *q, const char *prog, int timeout);
/* Message bytes; a write error is remembered in q->failed. */
void smtpd_qq_put(smtpd_qq *q, const void *data, size_t n);
/* End of message: send the envelope (n bytes) and wait for the exit.
 * Returns qmail-queue's exit code or an SMTPD_QQ_* value.  When q->failed
 * is set afterwards, the message must be reported as not queued whatever
 * the code says. */
int smtpd_qq_finish(smtpd_qq *q, const char *env, size_t n);
/* Abandon the message: kill the child and reap it. */
void smtpd_qq_abort(smtpd_qq *q);

/* Our Received line (two lines, LF-terminated) for a message received
 * from a client that said helo, at remoteip (remotehost if known), by me,
 * over protocol ("ESMTP" or "SMTP"), at time t.  Every untrusted part is
 * reduced to a safe character set and bounded, so nothing a client says
 * can end the line or the field. */
int smtpd_received(dstr *out, const char *helo, const char *remotehost,
                   const char *remoteip, const char *me,
                   const char *protocol, time_t t);

#endif
