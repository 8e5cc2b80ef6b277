/*
 * smtpd_io: the client connection of qmail-smtpd: input from fd 0, replies
 * to fd 1 (the ucspi convention: the same socket under tcpserver or
 * qmail-tcpd, or two pipes in a transcript test).
 *
 * Deadlines: every line (a command, or a line of a message) must arrive
 * whole within `timeout` seconds of the moment we started waiting for it,
 * so a client that trickles one byte a second is cut off like one that
 * sends nothing; and the whole session ends at `session` seconds.  Writes
 * have the same per-call deadline.  Memory: two fixed buffers; a line
 * longer than the caller's limit is read to its end and thrown away.
 *
 * Replies are queued and written when we are about to wait for input that
 * is not yet buffered (RFC 2920: one write answers a whole pipelined group)
 * or when the queue is full; a reply is never split across two writes.
 */
#ifndef SMTPD_IO_H
#define SMTPD_IO_H

#include <stddef.h>
#include <stdint.h>

#define SMTPD_IN_MAX 65536
#define SMTPD_OUT_MAX 4096  /* PIPE_BUF: one write(2) each */

typedef struct smtpd_io {
    int infd;
    int outfd;
    int timeout;            /* seconds per line and per write; 0 = none */
    int64_t session_end;    /* monotonic ms; 0 = none */
    int session_over;       /* the last ETIMEDOUT was the session limit */
    size_t pos, len;        /* unread input: in[pos..len) */
    size_t outlen;
    int inflags, outflags;  /* file status flags to restore, or -1 */
    char in[SMTPD_IN_MAX];
    char out[SMTPD_OUT_MAX];
} smtpd_io;

/* session_seconds 0: no limit on the whole session. */
void smtpd_io_init(smtpd_io *io, int infd, int outfd, int timeout,
                   int session_seconds);
/* Deadline for the next line: now + timeout, capped by the session's end
 * (0: none). */
int64_t smtpd_io_deadline(smtpd_io *io);
/* Read more input (after flushing queued replies); only when the buffer is
 * empty.  Returns bytes read, 0 at EOF, -1 on error (ETIMEDOUT when the
 * deadline passed). */
long smtpd_io_fill(smtpd_io *io, int64_t deadline);
/* Read one line through LF into line (at most max bytes kept, *len set).
 * A longer line is consumed to its LF and reported with *toolong.
 * Returns 1, 0 at EOF (a last line without LF is dropped), -1 on error. */
int smtpd_io_getline(smtpd_io *io, char *line, size_t max, size_t *len,
                     int *toolong);
/* Before the greeting: 1 if the client sent something within ms
 * milliseconds (it is kept in the buffer), 0 if not, 2 if it closed the
 * connection, -1 on error. */
int smtpd_io_early(smtpd_io *io, int ms);
/* Queue a reply (n bytes, CRLFs included).  Returns 0 or -1 (write
 * error). */
int smtpd_io_reply(smtpd_io *io, const char *s, size_t n);
int smtpd_io_flush(smtpd_io *io);
/* At the end: flush, and give the descriptors their flags back (they may
 * be shared with whoever started us, e.g. a terminal). */
int smtpd_io_done(smtpd_io *io);

#endif
