/*
 * remote_smtp: one SMTP client session (RFC 5321) on a connected socket:
 * greeting, EHLO (HELO when EHLO is refused with 5xx), MAIL, RCPT for
 * each recipient still undecided, DATA and the message, QUIT.
 *
 * Extensions used when the server offers them: PIPELINING (RFC 2920: MAIL
 * and the RCPTs go out in groups of up to REMOTE_SMTP_GROUP commands, and
 * the replies are read after each group), SIZE (RFC 1870: MAIL ...
 * SIZE=n), 8BITMIME (RFC 6152: BODY=8BITMIME when the message has 8-bit
 * bytes; without it such a message is sent as it is).
 *
 * Outcomes: a 2xx reply is success, 4xx temporary, 5xx permanent; no
 * reply (time-out, closed connection) or a malformed one is temporary.
 * A 552 to RCPT is temporary (RFC 5321 4.5.3.1.10: too many recipients).
 * A failed MAIL fails every recipient alike; DATA is sent only if some
 * recipient was accepted.  A server that hangs up while the message is
 * being sent is taken at its word if it replied first (552 too big),
 * else it is temporary.  Once the message was sent, only the reply to
 * the final dot can make it delivered: a connection lost before that
 * reply leaves it temporary (it may arrive twice, never not at all).
 *
 * Before MAIL is answered nothing is decided: a server that does not
 * greet with 2xx, refuses EHLO and HELO, or is lost on the way, makes the
 * session end with REMOTE_SMTP_NEXT_*, and the caller tries the next host.
 *
 * Trust: the server is anyone; replies are bounded and deadlined
 * (remote_reply), and its text only ever reaches our output sanitized.
 */
#ifndef REMOTE_SMTP_H
#define REMOTE_SMTP_H

#include <stddef.h>

#include "dstr.h"
#include "remote_msg.h"
#include "remote_out.h"

#define REMOTE_SMTP_GROUP 100   /* commands per pipelined group */
#define REMOTE_SMTP_QUIT_WAIT 10 /* seconds to wait for the reply to QUIT */

typedef struct remote_job {
    const char *sender;
    char *const *rcpts;
    remote_outcome *out;    /* one per recipient; those with status 0 are
                               sent and decided here */
    size_t nrcpts;
    const remote_msg *msg;
    const char *helohost;
    int timeout;            /* seconds for each reply and each write */
} remote_job;

enum {
    REMOTE_SMTP_DONE = 0,      /* every undecided recipient was decided */
    REMOTE_SMTP_NEXT_TEMP = 1, /* nothing decided: try the next host */
    REMOTE_SMTP_NEXT_PERM = 2  /* same, but the host refused us with 5xx */
};

/* Run a session on fd (non-blocking; closed here) with the server
 * described by who ("name [address]").  On REMOTE_SMTP_NEXT_* why says
 * what went wrong (record text).  Returns -1 only when out of memory. */
int remote_smtp(int fd, const char *who, remote_job *job, dstr *why);

/* Look through an EHLO reply for the extensions we use (exposed for the
 * tests).  Bits: */
#define REMOTE_EXT_PIPELINING 1u
#define REMOTE_EXT_SIZE 2u
#define REMOTE_EXT_8BITMIME 4u
unsigned remote_smtp_extensions(const remote_reply *ehlo);

#endif
