/*
 * queue_write: put one message into the queue, durably; the body of
 * qmail-queue, shared with qmail-queued (which runs it in a forked child
 * per message, on descriptors a client passed it).
 *
 * Protocol (qmail-queue(8)): the message is read from msgfd to end of
 * file, then the envelope from envfd: "F" sender NUL, "T" recipient NUL
 * for each recipient, and a final NUL.  Nothing is read after the final
 * NUL (envfd need not reach end of file).
 *
 * Steps: write tmp/ID (flock()ed, so a reader can tell a live writer from
 * debris; an emptied finished file claimed from free/ by renaming it to
 * tmp/ID when there is one, else a new file) as header placeholder + Received line + message + envelope; fill
 * in the header; fsync; rename to mess/NN/ID without replacing anything;
 * fsync that directory; poke qmail-send through lock/trigger.  The working
 * directory must be the queue ($QMAILHOME/queue).
 *
 * Trust: the message and the envelope come from any local user (or from
 * network servers) and are checked: addresses are bounded, the envelope
 * grammar is exact, and nothing of either is interpreted.  The caller's
 * identity (qwrite_caller) is the kernel's (getuid() or SO_PEERCRED),
 * never the client's word.
 */
#ifndef QUEUE_WRITE_H
#define QUEUE_WRITE_H

#include <sys/types.h>

typedef struct qwrite_caller {
    const char *prog; /* names the writer in the Received line */
    long pid;         /* the Received line's process id */
    long uid;         /* the Received line's "invoked by uid" */
    int timeout;      /* seconds for reading message and envelope; 0 none */
    const char *tag;  /* prefix of log lines, e.g. "fatal: " */
} qwrite_caller;

/* Read, check and queue one message.  Returns qmail-queue's exit code
 * (queue.h: QQ_OK only when the message is durably in mess/); on any
 * other code nothing was queued and no file of ours is left in tmp/
 * (except after a crash, which qmail-clean's debris sweep removes), with
 * one exception kept from qmail-queue: QQ_WRITE after the rename when the
 * directory fsync fails (the file stays, the caller may retry: at worst a
 * duplicate).  Failures are logged on fd 2. */
int qwrite(int msgfd, int envfd, const qwrite_caller *who);

#endif
