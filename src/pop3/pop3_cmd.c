/*
 * pop3_cmd.c: parse a POP3 command line against a command table.  See
 * pop3_cmd.h.  Called by qmail-popup and qmail-pop3d for every line a
 * client sends; trusts nothing in the line.
 */
#include "pop3_cmd.h"

#include <limits.h>
#include <string.h>

static int is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_control(unsigned char c) { return c < 32 || c == 127; }

enum pop3_parse pop3_cmd_parse(const struct pop3_command *table,
                               unsigned state, const char *line, size_t len,
                               struct pop3_cmd *c,
                               const struct pop3_command **entry)
{
    const struct pop3_command *e;
    size_t vlen = 0, i, pos, o;

    memset(c, 0, sizeof *c);
    *entry = 0;
    if (len == 0)
        return POP3_PARSE_EMPTY;
    if (memchr(line, 0, len))
        return POP3_PARSE_BADCHAR;
    while (vlen < len && line[vlen] != ' ')
        vlen++;
    if (vlen == 0) {
        /* leading space: only spaces is empty, anything else unknown */
        for (i = 0; i < len; i++)
            if (line[i] != ' ')
                return POP3_PARSE_UNKNOWN;
        return POP3_PARSE_EMPTY;
    }
    if (vlen > POP3_VERB_MAX)
        return POP3_PARSE_UNKNOWN;
    for (i = 0; i < vlen; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (!is_letter(ch))
            return is_control(ch) ? POP3_PARSE_BADCHAR : POP3_PARSE_UNKNOWN;
        c->verb[i] = (char)(ch >= 'a' ? ch - 32 : ch);
    }
    c->verb[vlen] = 0;
    for (e = table; e->verb; e++)
        if (strcmp(e->verb, c->verb) == 0)
            break;
    if (!e->verb)
        return POP3_PARSE_UNKNOWN;
    *entry = e;
    if (!(e->states & state))
        return POP3_PARSE_STATE;
    if (len > POP3_LINE_MAX)
        return POP3_PARSE_ARGS;

    pos = vlen < len ? vlen + 1 : len; /* after the keyword and one space */
    if (e->maxargs == POP3_RAW) {
        size_t n = len - pos;
        memcpy(c->store, line + pos, n);
        c->store[n] = 0;
        if (n > 0) {
            c->nargs = 1;
            c->arg[0] = c->store;
            c->arglen[0] = n;
        }
        return c->nargs < e->minargs ? POP3_PARSE_ARGS : POP3_PARSE_OK;
    }
    for (i = pos; i < len; i++)
        if (is_control((unsigned char)line[i]))
            return POP3_PARSE_BADCHAR;
    /* split on runs of spaces into store, each argument NUL-terminated */
    o = 0;
    i = pos;
    for (;;) {
        size_t start;
        while (i < len && line[i] == ' ')
            i++;
        if (i >= len)
            break;
        if (c->nargs >= POP3_ARGS_MAX || c->nargs >= e->maxargs)
            return POP3_PARSE_ARGS;
        start = i;
        while (i < len && line[i] != ' ')
            i++;
        memcpy(c->store + o, line + start, i - start);
        c->arg[c->nargs] = c->store + o;
        c->arglen[c->nargs] = i - start;
        c->nargs++;
        o += i - start;
        c->store[o++] = 0;
    }
    if (c->nargs < e->minargs)
        return POP3_PARSE_ARGS;
    return POP3_PARSE_OK;
}

int pop3_arg_msgnum(const char *s, unsigned long max, unsigned long *n)
{
    unsigned long v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (ULONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v == 0 || v > max)
        return -1;
    *n = v;
    return 0;
}

int pop3_arg_count(const char *s, unsigned long long *n)
{
    unsigned long long v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (ULLONG_MAX - 9) / 10)
            v = ULLONG_MAX; /* "all lines" for any practical purpose */
        else
            v = v * 10 + (unsigned long long)(*s - '0');
    }
    *n = v;
    return 0;
}
