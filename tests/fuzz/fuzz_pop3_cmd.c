// fuzz-sources: src/pop3/pop3_cmd.c
// fuzz-dict: tests/fuzz/pop3.dict
/*
 * libFuzzer harness: a POP3 command line against the command tables of
 * qmail-popup and qmail-pop3d (copied here: the handlers are static).
 * The first byte picks the table and the state; the rest is the line.
 * Checks: no crash or sanitizer report; on OK the verb is the entry's,
 * upper case, the argument count is within the entry's bounds, every
 * argument is NUL-terminated inside store with the length given, holds no
 * space (except a raw argument) and no control character (no NUL at all);
 * the verb matches the line's first word case-insensitively; the result is
 * deterministic.  The number scanners get each argument too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/pop3/pop3_cmd.h"

#define AUTH 1
#define NEED_PASS 2
#define TRANSACTION 4

static const struct pop3_command popup_tab[] = {
    {"USER", AUTH, 1, 1, 0},     {"PASS", NEED_PASS, 1, POP3_RAW, 0},
    {"APOP", AUTH, 0, POP3_RAW, 0}, {"CAPA", AUTH, 0, 0, 0},
    {"QUIT", AUTH, 0, 0, 0},     {"STAT", 0, 0, 0, 0},
    {"LIST", 0, 0, 0, 0},        {"RETR", 0, 0, 0, 0},
    {"DELE", 0, 0, 0, 0},        {"NOOP", 0, 0, 0, 0},
    {"RSET", 0, 0, 0, 0},        {"LAST", 0, 0, 0, 0},
    {"TOP", 0, 0, 0, 0},         {"UIDL", 0, 0, 0, 0},
    {0, 0, 0, 0, 0},
};

static const struct pop3_command pop3d_tab[] = {
    {"STAT", TRANSACTION, 0, 0, 0}, {"LIST", TRANSACTION, 0, 1, 0},
    {"RETR", TRANSACTION, 1, 1, 0}, {"DELE", TRANSACTION, 1, 1, 0},
    {"NOOP", TRANSACTION, 0, 0, 0}, {"RSET", TRANSACTION, 0, 0, 0},
    {"LAST", TRANSACTION, 0, 0, 0}, {"TOP", TRANSACTION, 2, 2, 0},
    {"UIDL", TRANSACTION, 0, 1, 0}, {"CAPA", TRANSACTION, 0, 0, 0},
    {"QUIT", TRANSACTION, 0, 0, 0}, {"USER", 0, 0, 0, 0},
    {"PASS", 0, 0, 0, 0},           {"APOP", 0, 0, 0, 0},
    {0, 0, 0, 0, 0},
};

static void check_num(const char *s, size_t len)
{
    unsigned long n;
    unsigned long long c;
    size_t i;
    int digits = len > 0;

    for (i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            digits = 0;
    if (pop3_arg_msgnum(s, 1000, &n) == 0) {
        if (!digits || n < 1 || n > 1000 || strtoul(s, 0, 10) != n)
            abort();
    }
    if (pop3_arg_count(s, &c) == 0) {
        if (!digits)
            abort();
        if (len < 19 && strtoull(s, 0, 10) != c)
            abort();
    } else if (digits) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct pop3_command *tab, *e, *e2;
    struct pop3_cmd c, c2;
    const char *line;
    unsigned state;
    size_t len, vlen, i;
    enum pop3_parse r, r2;
    int k;

    if (size < 1 || size > 4096)
        return 0;
    tab = data[0] & 1 ? pop3d_tab : popup_tab;
    state = 1u << ((data[0] >> 1) % 3);
    line = (const char *)data + 1;
    len = size - 1;
    r = pop3_cmd_parse(tab, state, line, len, &c, &e);
    r2 = pop3_cmd_parse(tab, state, line, len, &c2, &e2);
    if (r != r2 || e != e2)
        abort();
    if (r == POP3_PARSE_STATE || r == POP3_PARSE_ARGS || r == POP3_PARSE_OK) {
        if (!e || e < tab || !e->verb)
            abort();
        if (r == POP3_PARSE_STATE && (e->states & state))
            abort();
    } else if (e && r != POP3_PARSE_BADCHAR) {
        abort();
    }
    if (r == POP3_PARSE_EMPTY) {
        for (i = 0; i < len; i++)
            if (line[i] != ' ')
                abort();
    }
    if (r != POP3_PARSE_OK)
        return 0;
    if (len > POP3_LINE_MAX || memchr(line, 0, len) || !(e->states & state))
        abort();
    if (strcmp(c.verb, e->verb) != 0)
        abort();
    vlen = strlen(c.verb);
    if (vlen == 0 || vlen > POP3_VERB_MAX || vlen > len ||
        strncasecmp(line, c.verb, vlen) != 0 ||
        (vlen < len && line[vlen] != ' '))
        abort();
    if (c.nargs < 0 || c.nargs > POP3_ARGS_MAX || c.nargs < e->minargs)
        abort();
    if (e->maxargs == POP3_RAW) {
        if (c.nargs > 1)
            abort();
        if (c.nargs == 1 &&
            (c.arglen[0] != len - vlen - 1 ||
             memcmp(c.arg[0], line + vlen + 1, c.arglen[0]) != 0))
            abort();
    } else if (c.nargs > e->maxargs) {
        abort();
    }
    for (k = 0; k < c.nargs; k++) {
        const char *a = c.arg[k];
        if (a < c.store || a + c.arglen[k] >= c.store + sizeof c.store ||
            a[c.arglen[k]] != 0 || strlen(a) != c.arglen[k] ||
            c.arglen[k] == 0)
            abort();
        if (k && a <= c.arg[k - 1])
            abort();
        for (i = 0; i < c.arglen[k]; i++) {
            unsigned char ch = (unsigned char)a[i];
            if (e->maxargs != POP3_RAW && (ch < 32 || ch == 127 || ch == ' '))
                abort();
        }
        /* the argument is a piece of the line */
        if (!memmem(line + vlen, len - vlen, a, c.arglen[k]))
            abort();
        check_num(a, c.arglen[k]);
    }
    return 0;
}
