/*
 * pop3_io: reading command lines from a POP3 client, with deadlines.
 *
 * The whole line must arrive within the timeout (counted from the call),
 * so a client that sends one byte now and then cannot hold a server
 * forever.  pop3_in_set_deadline() adds a deadline for every line from
 * then on (qmail-popup's limit on the whole login).
 *
 * Two modes:
 *
 *   buffered   (qmail-pop3d) reads ahead into a buffer.  A line longer
 *              than the caller's limit is read to its end and reported as
 *              too long; a line that goes on for more than POP3_IN_DISCARD
 *              octets without a line feed ends the session (EMSGSIZE).
 *   exact      (qmail-popup) consumes nothing after the current line:
 *              qmail-popup hands the connection to another program after
 *              PASS, and commands the client pipelined after PASS must
 *              still be there for it.  On a socket it peeks at what has
 *              arrived (recv MSG_PEEK), then reads exactly up to the line
 *              feed, or all of it when there is none yet (those octets
 *              belong to the current line), so a line costs a few system
 *              calls, not one per octet.  Elsewhere (a pipe) it reads one
 *              octet at a time.  A line (with its CR LF) longer than the
 *              caller's cap - 1 octets fails at once with EMSGSIZE, and
 *              nothing more of it is read.  Nothing is kept outside the
 *              caller's buffer, which can be wiped (a password).
 *
 * Trust: the peer is not trusted; sizes and time are bounded.
 */
#ifndef POP3_IO_H
#define POP3_IO_H

#include <stddef.h>
#include <stdint.h>

#define POP3_IN_DISCARD 65536

struct pop3_in {
    int fd;
    int exact;          /* consume nothing after the current line */
    int nopeek;         /* exact, and fd is not a socket */
    int64_t deadline;   /* for every read (time_mono_ms), 0: none */
    size_t pos, len;
    char buf[4096];     /* buffered mode only */
};

void pop3_in_init(struct pop3_in *in, int fd, int exact);
/* From now on no line may arrive later than deadline_ms (time_mono_ms()
 * clock; 0 removes it): pop3_in_line() fails with ETIMEDOUT then. */
void pop3_in_set_deadline(struct pop3_in *in, int64_t deadline_ms);
/* 1 if input is buffered already (the client pipelined commands): the
 * caller need not flush its replies before reading on.  Never in exact
 * mode. */
int pop3_in_pending(const struct pop3_in *in);
/* Read one line into out (cap octets including a NUL).  A CR before the
 * LF is removed.  The line may contain NUL bytes: *outlen counts them.
 * Returns 1 with a line (buffered mode: *toolong set if it held more
 * than cap - 1 octets, out then holds the start), 0 at end of input (a
 * final line without LF is dropped), -1 on error with errno (ETIMEDOUT,
 * EMSGSIZE, or a read error). */
int pop3_in_line(struct pop3_in *in, char *out, size_t cap, size_t *outlen,
                 int timeout, int *toolong);
/* Before closing on a client that is still sending: end our side of the
 * connection (a socket) and read and drop what comes for up to a second
 * (at most POP3_DRAIN_MAX octets), so that the kernel does not answer the
 * unread data with a reset that would destroy our last reply. */
#define POP3_DRAIN_MAX (1024 * 1024)
void pop3_drain(struct pop3_in *in, int outfd);

#endif
