// fuzz-sources: src/smtpd/smtpd_cmd.c src/smtpd/smtpd_addr.c
// fuzz-dict: tests/fuzz/smtpd.dict
/*
 * libFuzzer harness: an SMTP command line as qmail-smtpd parses it: the
 * command parser and the state table, then for MAIL and RCPT the path and
 * parameter parsers on the argument, as smtpd_mail.c calls them.
 * Checks: no crash or sanitizer report, every result points inside the
 * input, addresses hold printable ASCII only.  Run with `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd_addr.h"
#include "smtpd_cmd.h"

static void check_path(const char *s, size_t len, unsigned flags)
{
    smtpd_path p;
    smtpd_param pp;
    size_t end, pos, i;

    if (smtpd_path_parse(s, len, flags, &p, &end) != SMTPD_PATH_OK)
        return;
    if (end > len || p.len > SMTPD_MAILBOX_MAX || strlen(p.addr) != p.len ||
        p.at > p.len)
        abort();
    for (i = 0; i < p.len; i++)
        if ((unsigned char)p.addr[i] < 32 || (unsigned char)p.addr[i] > 126)
            abort();
    pos = end;
    while (smtpd_param_next(s, len, &pos, &pp) == 1) {
        if (pp.key < s || pp.key + pp.keylen > s + len || pp.keylen == 0)
            abort();
        if (pp.value && (pp.value < s || pp.value + pp.valuelen > s + len))
            abort();
        if (pos > len)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan sees any overread */
    char *line = malloc(size ? size : 1);
    smtpd_cmd c;
    int r, st;

    if (!line)
        return 0;
    memcpy(line, data, size);
    r = smtpd_cmd_parse(line, size, &c);
    if (!c.def || c.arg < line || c.arg + c.arglen > line + size)
        abort();
    for (st = 0; st < SMTPD_NSTATES; st++)
        if (!smtpd_cmd_allowed(c.def, st) &&
            !smtpd_cmd_badseq(c.def, st))
            abort();
    if (r == SMTPD_CMD_OK && c.def->verb == SMTPD_V_MAIL && c.arglen >= 5 &&
        strncasecmp(c.arg, "FROM:", 5) == 0)
        check_path(c.arg + 5, c.arglen - 5, SMTPD_PATH_SENDER);
    if (r == SMTPD_CMD_OK && c.def->verb == SMTPD_V_RCPT && c.arglen >= 3 &&
        strncasecmp(c.arg, "TO:", 3) == 0)
        check_path(c.arg + 3, c.arglen - 3, SMTPD_PATH_RCPT);
    free(line);
    return 0;
}
