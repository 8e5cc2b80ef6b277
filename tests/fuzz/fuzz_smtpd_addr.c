// fuzz-sources: src/smtpd/smtpd_addr.c
// fuzz-dict: tests/fuzz/smtpd.dict
/*
 * libFuzzer harness: qmail-smtpd's path parser (RFC 5321 paths, quoted
 * local parts, source routes, address literals) and ESMTP parameters.
 * The first byte chooses the flags; the rest is the text after "FROM:" or
 * "TO:".  Checks: no crash or sanitizer report; an accepted path is
 * bounded, printable ASCII, with the '@' where `at` says; parsing is
 * deterministic.  Run with `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtpd_path p, again;
    smtpd_param pp;
    unsigned flags;
    size_t end, end2, pos, i;
    char *s;
    int r;

    if (size < 1)
        return 0;
    flags = data[0] & 3;
    s = malloc(size - 1 ? size - 1 : 1);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    r = smtpd_path_parse(s, size - 1, flags, &p, &end);
    if (r == SMTPD_PATH_OK) {
        if (end > size - 1 || end < 2 || p.len > SMTPD_MAILBOX_MAX ||
            strlen(p.addr) != p.len || p.at > p.len)
            abort();
        if (p.at < p.len && p.addr[p.at] != '@')
            abort();
        if (p.len == 0 && !(flags & SMTPD_PATH_SENDER))
            abort();
        if (p.at == p.len && p.len && !(flags & SMTPD_PATH_RCPT))
            abort();
        for (i = 0; i < p.len; i++)
            if ((unsigned char)p.addr[i] < 32 ||
                (unsigned char)p.addr[i] > 126)
                abort();
        if (smtpd_path_parse(s, size - 1, flags, &again, &end2) != r ||
            end2 != end || strcmp(again.addr, p.addr) != 0)
            abort();
        pos = end;
        while ((r = smtpd_param_next(s, size - 1, &pos, &pp)) == 1)
            if (pos > size - 1 || pp.keylen == 0)
                abort();
    } else if (r != SMTPD_PATH_SYNTAX && r != SMTPD_PATH_TOOLONG) {
        abort();
    }
    (void)smtpd_domain_scan(s, size - 1);
    (void)smtpd_literal_scan(s, size - 1);
    free(s);
    return 0;
}
