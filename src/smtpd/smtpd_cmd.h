/*
 * smtpd_cmd: SMTP command lines, the session's states, and the table that
 * says which command is allowed in which state (STYLE.md 9).
 *
 * States (a transaction is MAIL, then RCPTs, then DATA):
 *
 *   START  connected, greeted; no HELO/EHLO yet
 *   READY  after HELO/EHLO (or RSET, or a finished message): no transaction
 *   MAIL   after an accepted MAIL FROM, no accepted recipient yet
 *   RCPT   at least one accepted recipient; DATA may follow
 *
 * DATA itself is not a state a command can be read in: the message is read
 * by smtpd_data until its end, then the session is READY again.
 *
 * Called by smtpd_session.c; the line is untrusted network text.
 */
#ifndef SMTPD_CMD_H
#define SMTPD_CMD_H

#include <stddef.h>

/* RFC 5321 4.5.3.1.4: a command line is at most 512 bytes with its CRLF;
 * RFC 1870 6 adds 26 to MAIL for SIZE=, and we add 14 for " BODY=8BITMIME"
 * (RFC 6152). */
#define SMTPD_CMD_MAX 512
#define SMTPD_CMD_MAIL_MAX (512 + 26 + 14)
/* HELO/EHLO argument (a domain: 255 bytes) */
#define SMTPD_HELO_MAX 255

typedef enum smtpd_state {
    SMTPD_ST_START,
    SMTPD_ST_READY,
    SMTPD_ST_MAIL,
    SMTPD_ST_RCPT,
    SMTPD_NSTATES
} smtpd_state;

#define SMTPD_IN(st) (1u << (st))
#define SMTPD_ANY ((1u << SMTPD_NSTATES) - 1)

typedef enum smtpd_verb {
    SMTPD_V_UNKNOWN,
    SMTPD_V_HELO,
    SMTPD_V_EHLO,
    SMTPD_V_MAIL,
    SMTPD_V_RCPT,
    SMTPD_V_DATA,
    SMTPD_V_RSET,
    SMTPD_V_NOOP,
    SMTPD_V_QUIT,
    SMTPD_V_VRFY,
    SMTPD_V_HELP,
    SMTPD_V_HTTP,   /* GET, POST, ...: a web client or a proxy attack */
    SMTPD_NVERBS
} smtpd_verb;

typedef enum smtpd_argrule {
    SMTPD_ARG_NONE,      /* no argument allowed */
    SMTPD_ARG_OPTIONAL,
    SMTPD_ARG_REQUIRED,
    SMTPD_ARG_IGNORED,   /* anything after the verb is ignored */
} smtpd_argrule;

typedef struct smtpd_cmd_def {
    const char *name;
    smtpd_verb verb;
    unsigned states;     /* SMTPD_IN() bits of the states it is allowed in */
    smtpd_argrule arg;
    size_t maxline;      /* longest line, CRLF included */
} smtpd_cmd_def;

/* A parsed command line. */
typedef struct smtpd_cmd {
    const smtpd_cmd_def *def;   /* the table entry; never NULL */
    const char *arg;            /* after the verb and its spaces */
    size_t arglen;              /* trailing spaces removed */
} smtpd_cmd;

typedef enum smtpd_cmd_err {
    SMTPD_CMD_OK = 0,
    SMTPD_CMD_BADCHAR = -1,   /* NUL, CR or another control byte */
    SMTPD_CMD_TOOLONG = -2,   /* longer than the command's maxline */
} smtpd_cmd_err;

/* Parse a line as read (CRLF or LF still at its end, or neither).
 * len is the line's full length.  Unknown verbs give the SMTPD_V_UNKNOWN
 * entry.  Returns SMTPD_CMD_OK or a negative smtpd_cmd_err; c->def is set
 * in every case. */
int smtpd_cmd_parse(const char *line, size_t len, smtpd_cmd *c);

/* The table entry of a verb. */
const smtpd_cmd_def *smtpd_cmd_def_of(smtpd_verb v);
/* 1 if the command may be given in state st. */
int smtpd_cmd_allowed(const smtpd_cmd_def *d, smtpd_state st);
/* Reply (without CRLF) to a command given in a state it is not allowed
 * in, e.g. "503 5.5.1 MAIL first". */
const char *smtpd_cmd_badseq(const smtpd_cmd_def *d, smtpd_state st);
const char *smtpd_state_name(smtpd_state st);

#endif
