/*
 * pop3_cmd: POP3 command lines and the command tables of qmail-popup and
 * qmail-pop3d.
 *
 * A program's protocol is a state machine: it names its states as bits and
 * lists every command it knows in a table with the states that allow it
 * and how many arguments it takes.  pop3_cmd_parse() checks a line against
 * the table; the handler runs only when the command exists, is allowed in
 * the current state and has the right arguments.
 *
 * Syntax (RFC 1939, RFC 2449): a keyword of letters, case-insensitive, then
 * arguments separated by spaces; at most 255 octets with the CR LF.  We
 * accept runs of spaces between arguments.  A command declared POP3_RAW
 * (PASS, APOP) takes the rest of the line after the keyword and one space
 * verbatim, spaces included, as its single argument.
 *
 * Trust: the line comes from the network.  NUL bytes are refused in every
 * command (they would cut a name short on the checkpassword pipe); other
 * control characters are refused except in a raw argument (a password).
 */
#ifndef POP3_CMD_H
#define POP3_CMD_H

#include <stddef.h>

/* Octets of a command line before its CR LF (RFC 2449: 255 with them). */
#define POP3_LINE_MAX 253
#define POP3_VERB_MAX 8
#define POP3_ARGS_MAX 2
/* maxargs of a command that takes the rest of the line as one argument */
#define POP3_RAW (-1)

struct pop3_cmd {
    char verb[POP3_VERB_MAX + 1];    /* upper case */
    int nargs;
    const char *arg[POP3_ARGS_MAX];  /* NUL-terminated, in store */
    size_t arglen[POP3_ARGS_MAX];
    char store[POP3_LINE_MAX + 1];
};

typedef int pop3_handler(void *session, const struct pop3_cmd *c);

struct pop3_command {
    const char *verb;       /* upper case */
    unsigned states;        /* bit mask of the states that allow it */
    int minargs;
    int maxargs;            /* or POP3_RAW */
    pop3_handler *handler;
};

/* Results of pop3_cmd_parse. */
enum pop3_parse {
    POP3_PARSE_OK = 0,
    POP3_PARSE_EMPTY,       /* nothing on the line */
    POP3_PARSE_BADCHAR,     /* NUL or control characters */
    POP3_PARSE_UNKNOWN,     /* no such command here */
    POP3_PARSE_STATE,       /* known, but not allowed in this state */
    POP3_PARSE_ARGS         /* wrong number of arguments */
};

/* Parse line (len octets, no CR LF) against table (ended by a NULL verb)
 * in state (a bit of the states masks).  On POP3_PARSE_OK, c holds the
 * command and *entry its table entry; on POP3_PARSE_STATE and
 * POP3_PARSE_ARGS *entry is set too.  Lines longer than POP3_LINE_MAX are
 * the caller's to refuse (they are POP3_PARSE_ARGS here). */
enum pop3_parse pop3_cmd_parse(const struct pop3_command *table,
                               unsigned state, const char *line, size_t len,
                               struct pop3_cmd *c,
                               const struct pop3_command **entry);

/* A message number argument: decimal digits only, 1..max.  Returns 0 and
 * the number, or -1. */
int pop3_arg_msgnum(const char *s, unsigned long max, unsigned long *n);
/* A count argument (TOP's line count): decimal digits, 0 and up; values
 * beyond the range of unsigned long long saturate.  Returns 0 or -1. */
int pop3_arg_count(const char *s, unsigned long long *n);

#endif
