/*
 * smtpd_cmd.c: split an SMTP command line into verb and argument, and the
 * command table.  See smtpd_cmd.h.
 *
 * Trusts nothing: the line comes from the network.  It is only read, within
 * len; the argument points into it.
 */
#include "smtpd_cmd.h"

#include <string.h>
#include <strings.h>

#define ALL SMTPD_ANY
#define IN SMTPD_IN

/* The command table: every verb, where it is allowed, what it takes. */
static const smtpd_cmd_def table[] = {
    {"", SMTPD_V_UNKNOWN, ALL, SMTPD_ARG_IGNORED, SMTPD_CMD_MAX},
    {"HELO", SMTPD_V_HELO, ALL, SMTPD_ARG_REQUIRED, SMTPD_CMD_MAX},
    {"EHLO", SMTPD_V_EHLO, ALL, SMTPD_ARG_REQUIRED, SMTPD_CMD_MAX},
    {"MAIL", SMTPD_V_MAIL, IN(SMTPD_ST_READY), SMTPD_ARG_REQUIRED,
     SMTPD_CMD_MAIL_MAX},
    {"RCPT", SMTPD_V_RCPT, IN(SMTPD_ST_MAIL) | IN(SMTPD_ST_RCPT),
     SMTPD_ARG_REQUIRED, SMTPD_CMD_MAX},
    /* DATA after MAIL without a good recipient is a sequence error the
     * handler explains itself ("no valid recipients") */
    {"DATA", SMTPD_V_DATA, IN(SMTPD_ST_MAIL) | IN(SMTPD_ST_RCPT),
     SMTPD_ARG_NONE, SMTPD_CMD_MAX},
    {"RSET", SMTPD_V_RSET, ALL, SMTPD_ARG_NONE, SMTPD_CMD_MAX},
    {"NOOP", SMTPD_V_NOOP, ALL, SMTPD_ARG_OPTIONAL, SMTPD_CMD_MAX},
    {"QUIT", SMTPD_V_QUIT, ALL, SMTPD_ARG_IGNORED, SMTPD_CMD_MAX},
    {"VRFY", SMTPD_V_VRFY, ALL, SMTPD_ARG_REQUIRED, SMTPD_CMD_MAX},
    {"HELP", SMTPD_V_HELP, ALL, SMTPD_ARG_OPTIONAL, SMTPD_CMD_MAX},
    {"GET", SMTPD_V_HTTP, ALL, SMTPD_ARG_IGNORED, SMTPD_CMD_MAX},
};
_Static_assert(sizeof table / sizeof table[0] == SMTPD_NVERBS,
               "one table entry per verb, in verb order");

/* Other words that start an HTTP request: the same entry as GET. */
static const char *const http_verbs[] = {"POST", "HEAD", "PUT", "CONNECT",
                                         "OPTIONS", "DELETE"};

const smtpd_cmd_def *smtpd_cmd_def_of(smtpd_verb v)
{
    if ((unsigned)v >= SMTPD_NVERBS)
        v = SMTPD_V_UNKNOWN;
    return &table[v];
}

static const smtpd_cmd_def *lookup(const char *w, size_t n)
{
    size_t i;

    for (i = 1; i < SMTPD_NVERBS; i++)
        if (strlen(table[i].name) == n && strncasecmp(table[i].name, w, n) == 0)
            return &table[i];
    for (i = 0; i < sizeof http_verbs / sizeof http_verbs[0]; i++)
        if (strlen(http_verbs[i]) == n && strncasecmp(http_verbs[i], w, n) == 0)
            return &table[SMTPD_V_HTTP];
    return &table[SMTPD_V_UNKNOWN];
}

int smtpd_cmd_parse(const char *line, size_t len, smtpd_cmd *c)
{
    size_t full = len, i, v;

    c->def = &table[SMTPD_V_UNKNOWN];
    c->arg = line;
    c->arglen = 0;
    if (len && line[len - 1] == '\n')
        len--;
    if (len && line[len - 1] == '\r')
        len--;
    for (v = 0; v < len && line[v] != ' '; v++)
        ;
    c->def = lookup(line, v);
    if (full > c->def->maxline)
        return SMTPD_CMD_TOOLONG;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch < 32 || ch == 127)
            return SMTPD_CMD_BADCHAR;
    }
    i = v;
    while (i < len && line[i] == ' ')
        i++;
    while (len > i && line[len - 1] == ' ')
        len--;
    c->arg = line + i;
    c->arglen = len - i;
    return SMTPD_CMD_OK;
}

int smtpd_cmd_allowed(const smtpd_cmd_def *d, smtpd_state st)
{
    return (unsigned)st < SMTPD_NSTATES && (d->states & SMTPD_IN(st)) != 0;
}

const char *smtpd_cmd_badseq(const smtpd_cmd_def *d, smtpd_state st)
{
    if (st == SMTPD_ST_START)
        return "503 5.5.1 send HELO or EHLO first";
    switch (d->verb) {
    case SMTPD_V_MAIL:
        return "503 5.5.1 nested MAIL command: one transaction at a time "
               "(RSET first)";
    case SMTPD_V_RCPT:
    case SMTPD_V_DATA:
        return "503 5.5.1 MAIL first";
    default:
        return "503 5.5.1 bad sequence of commands";
    }
}

const char *smtpd_state_name(smtpd_state st)
{
    static const char *const names[] = {"START", "READY", "MAIL", "RCPT"};
    return (unsigned)st < SMTPD_NSTATES ? names[st] : "?";
}
