/*
 * pop3d_session: the TRANSACTION and UPDATE states of POP3 (RFC 1939,
 * RFC 2449) for one Maildir, as qmail-pop3d speaks them after a login.
 *
 * Commands (all in the TRANSACTION state):
 *
 *   STAT                 +OK count octets (messages not marked deleted)
 *   LIST [n]             sizes: the octets RETR sends, after unstuffing
 *   RETR n               the message, CR LF line ends, byte-stuffed
 *   TOP n m              the header, the empty line, m body lines
 *   DELE n               marks n deleted; nothing is removed before QUIT
 *   RSET                 unmarks all, LAST back to 0
 *   NOOP, LAST           LAST: highest message number retrieved (RETR)
 *   UIDL [n]             Maildir unique names (pop3_maildir.h)
 *   CAPA                 USER TOP UIDL PIPELINING RESP-CODES AUTH-RESP-CODE
 *   QUIT                 UPDATE state: removes the marked messages, bye
 *
 * USER, PASS and APOP are known but refused (already logged in).  A
 * connection that ends any other way than QUIT (closed, timeout, write
 * error, a signal) removes nothing.
 *
 * Replies are buffered and written when no further command is waiting in
 * the input, so pipelined commands (RFC 2449) are answered in one go.
 *
 * Another session on the same Maildir: see pop3_maildir.h.  A message
 * that vanished since the listing gives "-ERR" for RETR and TOP; its
 * number stays valid for the rest of the session.
 *
 * Limits: control/timeoutpop3d per command line and per reply write,
 * POP3D_MAX_ERRORS bad command lines.  Messages are streamed, never held
 * in memory.
 */
#ifndef POP3D_SESSION_H
#define POP3D_SESSION_H

#include "bio.h"
#include "pop3_io.h"
#include "pop3_maildir.h"

#define POP3D_MAX_ERRORS 20

struct pop3d {
    /* set by the caller */
    int infd, outfd;
    int timeout;
    const char *user, *remote;  /* for the log */
    struct pop3_box box;        /* scanned */
    /* the session */
    struct pop3_in in;
    bio out;
    char outbuf[16384];
    unsigned long last;
    unsigned long retrieved;
    unsigned long long retrieved_octets;
    unsigned long removed;
    int errors;
    int done;
    const char *why;            /* how the session ended, for the log */
    int quit;                   /* QUIT seen: UPDATE state done */
};

/* Answer the PASS (+OK), serve the client until QUIT or the end of the
 * connection, log the end.  Returns the exit code: 0, always, once the
 * client was answered.  The caller ignores SIGPIPE. */
int pop3d_run(struct pop3d *s);

#endif
