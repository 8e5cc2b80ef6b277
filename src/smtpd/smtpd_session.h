/*
 * smtpd_session: one SMTP session, from the greeting to the end: the state
 * machine that reads commands, checks them against the command table
 * (smtpd_cmd) and runs their handlers.
 *
 *   smtpd_session.c  the loop, the greeting, HELO/EHLO, RSET, NOOP, QUIT,
 *                    VRFY, HELP, replies and the error limit
 *   smtpd_mail.c     MAIL and RCPT: addresses, parameters, policy
 *   smtpd_msg.c      DATA: the message, streamed to qmail-queue
 *
 * Everything the session holds is bounded: fixed buffers, an envelope of
 * at most maxrcpt recipients of bounded length.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <stddef.h>
#include <sys/types.h>

#include "dstr.h"
#include "smtpd_cmd.h"
#include "smtpd_conf.h"
#include "smtpd_io.h"
#include "smtpd_queue.h"

typedef struct smtpd_session {
    smtpd_conf *conf;
    smtpd_io *io;
    smtpd_state state;
    char helo[SMTPD_HELO_MAX + 1];
    int esmtp;                  /* the client said EHLO */
    dstr sender;                /* NUL-terminated; "" for <> */
    dstr envelope;              /* "F" sender "\0" ("T" rcpt "\0")... */
    unsigned long nrcpt;        /* accepted recipients of this transaction */
    unsigned long errors;       /* negative replies so far */
    unsigned long messages;     /* messages accepted */
    int quit;                   /* end after this command */
    const char *why_end;        /* for the closing log line */
    long pid;                   /* ours, in every log line */
    dstr reply;                 /* scratch */
    char line[SMTPD_CMD_MAIL_MAX + 1];
    char dataout[SMTPD_IN_MAX + 1];
    qqueue qq;
} smtpd_session;

void smtpd_session_init(smtpd_session *s, smtpd_conf *c, smtpd_io *io);
/* The whole session.  Returns when it has ended (output flushed). */
void smtpd_session_run(smtpd_session *s);
void smtpd_session_free(smtpd_session *s);

/* ---- shared by the handlers ------------------------------------------ */

/* Queue a reply: printf-style text without CRLF (one line, or lines
 * separated by "\r\n" for a multi-line reply).  smtpd_reply_err also
 * counts an error, and ends the session with a 421 at the limit. */
void smtpd_reply(smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtpd_reply_err(smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forget the current transaction (sender, recipients). */
void smtpd_txn_reset(smtpd_session *s);
/* Fatal for the session: out of memory, a broken connection. */
void smtpd_session_abort(smtpd_session *s, const char *why);

void smtpd_do_mail(smtpd_session *s, const char *arg, size_t len);
void smtpd_do_rcpt(smtpd_session *s, const char *arg, size_t len);
void smtpd_do_data(smtpd_session *s);

#endif
