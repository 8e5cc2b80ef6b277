/*
 * pop3_io: reading command lines from a POP3 client, with a deadline.
 *
 * The whole line must arrive within the timeout (counted from the call),
 * so a client that sends one byte now and then cannot hold a server
 * forever.  A line longer than the caller's limit is read to its end and
 * reported as too long; a line that goes on for more than POP3_IN_DISCARD
 * octets without a line feed ends the session (EMSGSIZE).
 *
 * Unbuffered mode reads one octet per read(2), so that nothing after the
 * current line is consumed: qmail-popup hands the connection to another
 * program after PASS, and commands the client pipelined after PASS must
 * still be there for it.
 *
 * Trust: the peer is not trusted; sizes and time are bounded.
 */
#ifndef POP3_IO_H
#define POP3_IO_H

#include <stddef.h>

#define POP3_IN_DISCARD 65536

struct pop3_in {
    int fd;
    int unbuffered;
    size_t pos, len;
    char buf[4096];
};

void pop3_in_init(struct pop3_in *in, int fd, int unbuffered);
/* 1 if input is buffered already (the client pipelined commands): the
 * caller need not flush its replies before reading on. */
int pop3_in_pending(const struct pop3_in *in);
/* Read one line into out (cap octets including a NUL).  A CR before the
 * LF is removed.  The line may contain NUL bytes: *outlen counts them.
 * Returns 1 with a line (*toolong set if it held more than cap - 1
 * octets, out then holds the start), 0 at end of input (a final line
 * without LF is dropped), -1 on error with errno (ETIMEDOUT, EMSGSIZE,
 * or a read error). */
int pop3_in_line(struct pop3_in *in, char *out, size_t cap, size_t *outlen,
                 int timeout, int *toolong);
/* Before closing on a client that is still sending: end our side of the
 * connection (a socket) and read and drop what comes for up to a second
 * (at most POP3_DRAIN_MAX octets), so that the kernel does not answer the
 * unread data with a reset that would destroy our last reply. */
#define POP3_DRAIN_MAX (1024 * 1024)
void pop3_drain(struct pop3_in *in, int outfd);

#endif
