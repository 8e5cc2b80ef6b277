/*
 * qqueue: hand one message to qmail-queue (or $QMAILQUEUE) while it is
 * produced, for every program that queues mail: qmail-smtpd, qmail-inject,
 * qmail-local (forwards), qmail-send (bounces).
 *
 * qmail-queue reads the message on its fd 0 and then the envelope on its
 * fd 1 (qmail-queue(8)); its exit code is the verdict.  The message is
 * streamed through a pipe, so memory stays bounded whatever its size.  A
 * message the caller gives up on is abandoned: the child is killed and
 * gets no envelope, so nothing is queued.  With a timeout, every write and
 * the wait for the exit have deadlines (the child is then killed and the
 * message reported as not queued: at worst a duplicate, never a loss).
 *
 * When the program is our own qmail-queue (bin/qmail-queue beside the
 * caller, which is what qqueue_program() picks without $QMAILQUEUE and
 * qmail-send uses for bounces) and qmail-queued(8) listens on
 * $QMAILHOME/QQUEUE_SOCK, no process is started: the read ends of the two
 * pipes are passed to qmail-queued over that socket (one byte
 * QQUEUE_HELLO with SCM_RIGHTS: message, envelope), and its child answers
 * with one byte, qmail-queue's exit code, then its pid in 4 bytes
 * (big-endian; a reply of the code alone is taken too).  Any failure
 * before the descriptors are handed over (no socket, refused, reset
 * before the hello went out) means qmail-queue is run as before; after
 * the handover only qmail-queued's child may queue the message, so a
 * connection closed without the byte is a temporary failure
 * (QQUEUE_WAITERR), never a second try.
 */
#ifndef QQUEUE_H
#define QQUEUE_H

#include <stddef.h>
#include <sys/types.h>

#include "bio.h"
#include "dstr.h"

/* finish() results beyond qmail-queue's own exit codes (0..255) */
#define QQUEUE_CRASHED 256   /* 256 + signal number */
#define QQUEUE_TIMEOUT 1000  /* it did not exit in time: killed */
#define QQUEUE_WAITERR 1001  /* could not wait for it */

/* qmail-queued's socket, relative to $QMAILHOME, and its protocol */
#define QQUEUE_SOCK "queue/sock/queued"
#define QQUEUE_HELLO 'Q'     /* the byte that carries the two descriptors */
#define QQUEUE_HELLO_NOHOLD 'N' /* the same, from a caller whose reply must
                                 * never wait for inflow control */

typedef struct qqueue {
    pid_t pid;          /* the qmail-queue child to signal and reap; -1
                         * with qmail-queued or when there is none */
    pid_t qp;           /* the message's "qp" for replies and logs: the pid
                         * in its Received line and queue file name.
                         * qmail-queue's pid from qqueue_start(); with
                         * qmail-queued its child's, known once
                         * qqueue_finish() returned (before: our own) */
    int pidfd;          /* -1 if the kernel has none: plain waitpid */
    int envfd;
    int sock;           /* qmail-queued's socket, -1 when a child runs */
    int failed;         /* a write failed: the message is not queued */
    int timeout;        /* seconds, per write and for the exit; 0: none */
    bio msg;
    char buf[65536];
} qqueue;

/* The program to run: $QMAILQUEUE (relative to the current directory),
 * else qqueue_default_program(). */
int qqueue_program(dstr *out);
/* The program beside our binary that takes mail: qmail-qmqpc on a
 * mini-qmail host (qqueue_mini()), else qmail-queue.  Returns 0, or -1
 * with errno (ENOENT: our binaries' directory is unknown). */
int qqueue_default_program(dstr *out);
/* 1 if this is a mini-qmail host: $QMAILHOME/control/qmqpservers lists a
 * server (or exists but cannot be read: qmail-qmqpc then refuses, rather
 * than the mail going into a queue nothing delivers from); 0 if not; -1
 * when out of memory.  Works from any working directory. */
int qqueue_mini(void);
/* For the rest of this process, ask qmail-queued never to hold a reply
 * for inflow control: qmail-send's bounces (it is the one that clears
 * the flag, and waiting would stall its scheduling). */
void qqueue_never_hold(void);
/* Start it (or reach qmail-queued, above, when timeout > 0: a caller
 * without a deadline, such as qmail-inject reading a slow pipe, runs
 * qmail-queue, which allows a message a day).  Returns 0, or -1 with
 * errno (also when exec failed). */
int qqueue_start(qqueue *q, const char *prog, int timeout);
/* Message bytes; a write error is remembered in q->failed. */
void qqueue_put(qqueue *q, const void *data, size_t n);
/* End of message: send the envelope (n bytes) and wait for the exit.
 * Returns qmail-queue's exit code or a QQUEUE_* value.  When q->failed is
 * set afterwards, the message must be reported as not queued whatever the
 * code says. */
int qqueue_finish(qqueue *q, const char *env, size_t n);
/* Abandon the message: kill the child and reap it (qmail-queued's child
 * sees the envelope end early and queues nothing). */
void qqueue_abort(qqueue *q);

#endif
