/*
 * remote_out: the outcome of a delivery and the records qmail-remote
 * prints on fd 1 for qmail-rspawn (qmail-remote(8)):
 *
 *   for each recipient, in the order of the arguments:
 *       'r' STATUS TEXT '\0'
 *   then one record for the message:
 *       STATUS TEXT '\0'
 *
 * STATUS is 'K' (delivered), 'Z' (temporary failure: try again later) or
 * 'D' (permanent failure: bounce).  A recipient's record is its final
 * outcome.  The message record is K when the remote host took the message
 * for at least one recipient, else Z when at least one recipient failed
 * temporarily, else D.
 *
 * TEXT is one line of printable ASCII for humans, logs and bounces: the
 * remote host's name and address and its reply ("Remote host said: 550
 * 5.1.1 no such user"), the lines of a multi-line reply joined by " / ".
 * Other bytes become '?'.  At most REMOTE_TEXT_MAX bytes (then "...").
 */
#ifndef REMOTE_OUT_H
#define REMOTE_OUT_H

#include <stddef.h>

#include "dstr.h"
#include "remote_reply.h"

#define REMOTE_TEXT_MAX 2000

typedef struct remote_outcome {
    char status;   /* 0 (not decided yet), 'K', 'Z' or 'D' */
    dstr text;
} remote_outcome;

/* Append n bytes of s to d as record text (see above). */
int remote_out_text(dstr *d, const char *s, size_t n);
int remote_out_texts(dstr *d, const char *s);
/* Append a reply as record text: its lines joined by " / ". */
int remote_out_reply(dstr *d, const remote_reply *r);
/* Set an outcome: status and a copy of text. */
int remote_outcome_set(remote_outcome *o, char status, const dstr *text);
/* The message record's status from the recipients' (see above). */
char remote_out_summary(const remote_outcome *rcpts, size_t n);
/* Append all records to out.  A recipient still undecided is reported
 * as a temporary failure. */
int remote_out_records(dstr *out, const remote_outcome *rcpts, size_t n,
                       const remote_outcome *msg);

#endif
