/*
 * inject_queue: run qmail-queue (or the $QMAILQUEUE filter) and feed it.
 *
 * The child gets the message on fd 0 and the envelope on fd 1, both
 * pipes, and keeps our stderr.  A failed exec is reported back to the
 * parent through a close-on-exec pipe, so "cannot run" and "ran and
 * failed" are told apart.
 *
 * Callers: inject_run.c.  Trust: the program is chosen by the user
 * ($QMAILQUEUE) or is our own sibling binary; its exit code is checked.
 */
#ifndef INJECT_QUEUE_H
#define INJECT_QUEUE_H

#include <sys/types.h>

#include "dstr.h"

typedef struct inject_queue {
    pid_t pid;
    int msgfd;      /* write the message here */
    int envfd;      /* then the envelope here */
} inject_queue;

/* The program to run: $QMAILQUEUE when set and non-empty, else
 * BINDIR/qmail-queue.  A relative $QMAILQUEUE is taken relative to cwd,
 * which the caller passes (NULL: as is).  Returns 0 or -1 (ENOENT when the
 * binaries' directory is unknown). */
int inject_queue_program(dstr *out, const char *cwd);
/* Start prog.  Returns 0, or -1 with errno (from pipe, fork or exec). */
int inject_queue_start(inject_queue *q, const char *prog);
/* Close the message pipe, write env to the envelope pipe (unless env is
 * NULL: then the envelope is left empty, which makes qmail-queue refuse
 * the message), close it, and wait.  Returns the exit code (0..255), 256 +
 * signal number when the child was killed, or -1 on a wait error. */
int inject_queue_finish(inject_queue *q, const dstr *env);

#endif
