/*
 * qmtpd_io: the connection's input for qmail-qmtpd and qmail-qmqpd, read
 * as netstrings (src/lib/netstr.h) with a deadline on every read (the
 * per-read timeout, never past the session's end) and an optional limit:
 * the bytes left in an enclosing netstring (QMQP's package, QMTP's
 * recipient list), which an inner netstring may not cross.
 *
 * Payload goes to a sink as it arrives, so a message of any size streams
 * through a fixed buffer.  Trusts nothing it reads.
 */
#ifndef QMTPD_IO_H
#define QMTPD_IO_H

#include <stddef.h>
#include <time.h>

#include "bio.h"
#include "netstr.h"

typedef struct qmtpd_in {
    bio b;
    int timeout;                /* seconds per read */
    time_t session_end;         /* 0: none */
    int limited;                /* inside an enclosing netstring */
    unsigned long long limit;   /* its bytes not yet consumed */
    unsigned long long consumed; /* bytes consumed since the start */
    char buf[65536];
} qmtpd_in;

/* Payload sink: 0, or -1 to stop (errno set). */
typedef int qmtpd_sink(void *ctx, const char *data, size_t n);

void qmtpd_in_init(qmtpd_in *in, int fd, int timeout, int session_timeout);

/* Read one netstring of at most max bytes, its payload handed to sink
 * (may be NULL: skipped).  Returns 1 when it was read whole; 0 when there
 * was nothing more to read: end of file (or the end of the enclosing
 * netstring) before its first byte; -1 with errno: EPROTO (malformed, or
 * crossing the enclosing netstring's end), EMSGSIZE (over max), ENODATA
 * (end of file inside it), ETIMEDOUT, or the sink's error. */
int qmtpd_netstr(qmtpd_in *in, unsigned long long max, qmtpd_sink *sink,
                 void *ctx);
/* Read only a header "[len]:" of at most max: then the payload follows
 * as inner netstrings; qmtpd_enter(len) before and qmtpd_leave() after
 * them.  Returns as qmtpd_netstr. */
int qmtpd_netstr_header(qmtpd_in *in, unsigned long long max,
                        unsigned long long *len);
void qmtpd_enter(qmtpd_in *in, unsigned long long len);
/* Leave the enclosing netstring: every byte of it must have been read
 * (else EPROTO: its length lied) and its ',' follows.  0 or -1. */
int qmtpd_leave(qmtpd_in *in);
/* After a 0 from qmtpd_netstr inside an enclosing netstring: the errno
 * value that explains it when it was not the enclosing netstring's end
 * (ENODATA: the connection ended first), or 0. */
int qmtpd_why_none(const qmtpd_in *in);

/* Write all of data to fd within timeout seconds.  0 or -1. */
int qmtpd_write(int fd, const void *data, size_t n, int timeout);

#endif
