/*
 * remote_reply: read and parse SMTP replies from a remote server
 * (RFC 5321 4.2).
 *
 * A reply is one or more lines "CODE-text" ending with a line "CODE text"
 * (or just "CODE"); every line carries the same three-digit code, whose
 * first digit is 2, 3, 4 or 5.  Anything else is malformed.
 *
 * Trust: the server is anyone on the Internet.  Limits: a line may hold
 * at most REMOTE_REPLY_LINE_MAX bytes with its line end, a reply at most
 * REMOTE_REPLY_LINES_MAX lines, and the whole reply must arrive within
 * the caller's deadline (one deadline per reply, so a server trickling a
 * byte at a time cannot hold us longer than one timeout).  Breaking a
 * limit is a protocol error (EPROTO); the caller then gives up on the
 * connection, which is a temporary failure.  Lines may end in CRLF or a
 * bare LF.
 */
#ifndef REMOTE_REPLY_H
#define REMOTE_REPLY_H

#include <stddef.h>

#include "dstr.h"

#define REMOTE_REPLY_LINE_MAX 2048
#define REMOTE_REPLY_LINES_MAX 100

typedef struct remote_reply {
    int code;       /* the reply code, 200..599; 0 before the first line */
    size_t nlines;  /* lines taken so far */
    int done;       /* the last line was seen */
    dstr text;      /* each line without its line end, followed by '\n' */
} remote_reply;

/* Forget the previous reply (keeps text's memory). */
void remote_reply_reset(remote_reply *r);
void remote_reply_free(remote_reply *r);
/* Take one line, without its line end.  Returns 1 when it completed the
 * reply, 0 when more lines follow, -1 when it is malformed (EPROTO) or on
 * ENOMEM.  After a completed reply, call remote_reply_reset first. */
int remote_reply_feed(remote_reply *r, const char *line, size_t len);
/* First digit of the code as a number (2..5), 0 if none. */
int remote_reply_class(const remote_reply *r);

/* The input side of a connection: a buffer over a (non-blocking) fd. */
typedef struct remote_in {
    int fd;
    size_t pos, len;
    char buf[4096];
} remote_in;

void remote_in_init(remote_in *in, int fd);
/* Read one whole reply into r (reset first) within timeout seconds.
 * Returns 0, or -1 with errno ETIMEDOUT, ECONNRESET (the server closed the
 * connection, or reset it), EPROTO (malformed or over a limit), ENOMEM,
 * or another read error. */
int remote_reply_read(remote_in *in, remote_reply *r, int timeout);

#endif
