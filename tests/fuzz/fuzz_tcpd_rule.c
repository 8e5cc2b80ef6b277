// fuzz-sources: src/tcpd/tcpd_rule.c src/tcpd/tcpd_addr.c src/lib/dstr.c src/lib/num.c
// fuzz-dict: tests/fuzz/tcpd.dict
/*
 * libFuzzer harness: one line of qmail-tcprules' rules text, and the cdb
 * keys and values it becomes.  Checks: a rule has 1..TCPD_RULE_PREFIX_MAX
 * prefixes, each of family 4 or 6 (or the single every-client prefix),
 * at most 32/128 bits, no bits set beyond them, never IPv4-mapped IPv6;
 * its key, made into the line "KEY:allow", parses back to that very
 * prefix; the variables are at most TCPD_RULE_VARS_MAX valid, distinct
 * NAME=VALUE strings; the value tcpd_rule_value makes is accepted by
 * qmail-tcpd's own check (tcpd_verdict_parse) with the same verdict,
 * line and variables; a refused line gives a reason.  tcpd_verdict_parse
 * also gets the raw input.  The line is passed with a NUL after it: the
 * error messages of parse_vars print "%.20s" from inside the line, which
 * reads past len on an unterminated line (reported; qmail-tcprules's
 * bio_getline lines are not NUL-terminated either).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/tcpd/tcpd_rules.h"

static tcpd_rule r, r2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};
    dstr err = DSTR_ZERO, key = DSTR_ZERO, line = DSTR_ZERO,
         value = DSTR_ZERO, err2 = DSTR_ZERO;
    tcpd_verdict v;
    size_t i, j, nv;
    int rc;

    if (size > TCPD_RULE_LINE_MAX)
        return 0;
    if (tcpd_verdict_parse((const char *)data, size, &v) == 0) {
        if (size < 3 || (data[0] != 'A' && data[0] != 'D') ||
            v.allow != (data[0] == 'A') || v.nvars > TCPD_RULE_VARS_MAX ||
            v.vars < (const char *)data || v.vars + v.varslen != (const char *)data + size)
            abort();
    }

    if (dstr_copyb(&line, data, size) == -1 || dstr_cat0(&line) == -1)
        abort();
    rc = tcpd_rule_parse(line.s, size, &r, &err);
    if (rc == -1) {
        if (err.len == 0 || strlen(err.s) != err.len)
            abort();
        goto out;
    }
    if (rc == 0)
        goto out;
    if (rc != 1 || r.nprefix < 1 || r.nprefix > TCPD_RULE_PREFIX_MAX ||
        r.nvars > TCPD_RULE_VARS_MAX)
        abort();
    for (i = 0; i < r.nprefix; i++) {
        const tcpd_prefix *p = &r.prefix[i];
        if (p->addr.family == 0) {
            if (r.nprefix != 1 || p->bits != 0)
                abort();
            if (tcpd_prefix_key(p, &key) != 0 || key.len != 0)
                abort();
            continue;
        }
        if ((p->addr.family != 4 && p->addr.family != 6) ||
            p->bits > tcpd_addr_bits(&p->addr) ||
            !tcpd_addr_is_masked(&p->addr, p->bits))
            abort();
        if (p->addr.family == 4)
            for (j = 4; j < 16; j++)
                if (p->addr.b[j])
                    abort();
        if (p->addr.family == 6 && p->bits >= 96 &&
            memcmp(p->addr.b, mapped, 12) == 0)
            abort();
        if (tcpd_prefix_key(p, &key) != 0 || key.len == 0)
            abort();
        /* the key is a CIDR rule for the same prefix */
        line.len = 0;
        if (dstr_catb(&line, key.s, key.len) == -1 ||
            dstr_cats(&line, ":deny") == -1)
            abort();
        if (tcpd_rule_parse(line.s, line.len, &r2, &err2) != 1 ||
            r2.nprefix != 1 || r2.allow || r2.nvars ||
            r2.prefix[0].addr.family != p->addr.family ||
            r2.prefix[0].bits != p->bits ||
            memcmp(r2.prefix[0].addr.b, p->addr.b, 16) != 0)
            abort();
        for (j = 0; j < i; j++)
            if (memcmp(&r.prefix[j], p, sizeof *p) == 0)
                abort();
    }
    /* the variables */
    nv = 0;
    for (i = 0; i < r.vars.len; nv++) {
        const char *e = r.vars.s + i;
        const char *end = memchr(e, 0, r.vars.len - i);
        const char *eq;
        if (!end)
            abort();
        eq = memchr(e, '=', (size_t)(end - e));
        if (!eq || !tcpd_rule_name_ok(e, (size_t)(eq - e)))
            abort();
        for (j = 0; j < i;) {
            const char *o = r.vars.s + j;
            size_t ol = strlen(o);
            if (memchr(o, '=', ol) - (void *)o == eq - e &&
                memcmp(o, e, (size_t)(eq - e)) == 0)
                abort();
            j += ol + 1;
        }
        i = (size_t)(end - r.vars.s) + 1;
    }
    if (nv != r.nvars)
        abort();
    if (tcpd_rule_value(&r, 4242, &value) != 0 ||
        tcpd_verdict_parse(value.s, value.len, &v) != 0 ||
        v.allow != r.allow || v.line != 4242 || v.nvars != r.nvars ||
        v.varslen != r.vars.len ||
        (v.varslen && memcmp(v.vars, r.vars.s, v.varslen) != 0))
        abort();
out:
    dstr_free(&err);
    dstr_free(&err2);
    dstr_free(&key);
    dstr_free(&line);
    dstr_free(&value);
    return 0;
}
