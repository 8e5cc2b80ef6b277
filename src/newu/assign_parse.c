/*
 * assign_parse.c: users/assign to users/cdb entries.  See assign_parse.h.
 * users/assign is written by the administrator; still every field is
 * checked so that a typo is reported, not compiled into a wrong mailbox.
 */
#include "assign_parse.h"

#include <string.h>

#include "num.h"

static int bad(dstr *err, unsigned long line, const char *what)
{
    err->len = 0;
    if (dstr_catf(err, "line %lu: %s", line, what) == -1 ||
        dstr_cat0(err) == -1)
        err->len = 0;
    return -1;
}

/* Check one "=..." or "+..." line; split its seven fields. */
static int check_line(const char *l, size_t llen, unsigned long line,
                      const char *f[7], size_t flen[7], dstr *err)
{
    size_t n = 0, i, start = 1;
    unsigned long long num;

    if (llen == 0)
        return bad(err, line, "empty line (the file ends with \".\")");
    if (memchr(l, 0, llen))
        return bad(err, line, "NUL byte");
    if (l[0] != '=' && l[0] != '+')
        return bad(err, line, "must start with = or +");
    for (i = 1; i < llen && n < 7; i++)
        if (l[i] == ':') {
            f[n] = l + start;
            flen[n] = i - start;
            n++;
            start = i + 1;
        }
    if (n != 7 || start != llen)
        return bad(err, line,
                   "needs 7 fields, each ending in ':' "
                   "(local:user:uid:gid:homedir:dash:ext:)");
    if (l[0] == '=' && flen[0] == 0)
        return bad(err, line, "empty address");
    if (flen[1] == 0)
        return bad(err, line, "empty user name");
    if (num_scan_ulong(f[2], flen[2], &num) == -1 || num > 0x7fffffff)
        return bad(err, line, "uid is not a number");
    if (num_scan_ulong(f[3], flen[3], &num) == -1 || num > 0x7fffffff)
        return bad(err, line, "gid is not a number");
    if (flen[4] == 0 || f[4][0] != '/')
        return bad(err, line, "home directory must be absolute");
    if (flen[5] > 1 || (flen[5] == 1 && f[5][0] != '-'))
        return bad(err, line, "dash must be empty or \"-\"");
    return 0;
}

int assign_parse(const char *text, size_t len, assign_add_fn *add,
                 void *arg, dstr *err)
{
    dstr rec = DSTR_ZERO;
    size_t pos = 0;
    unsigned long line = 0;
    int ended = 0, r = -1;

    err->len = 0;
    while (pos < len) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - l) : len - pos;
        const char *f[7];
        size_t flen[7], i, klen;

        pos += llen + (nl ? 1 : 0);
        line++;
        if (ended) {
            bad(err, line, "text after the final \".\" line");
            goto out;
        }
        if (llen == 1 && l[0] == '.') {
            ended = 1;
            continue;
        }
        if (check_line(l, llen, line, f, flen, err) == -1)
            goto out;
        /* key: the tag and the lower-cased local part or prefix */
        rec.len = 0;
        if (dstr_catc(&rec, l[0]) == -1)
            goto out;
        for (i = 0; i < flen[0]; i++) {
            char c = f[0][i];
            if (dstr_catc(&rec, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c) ==
                -1)
                goto out;
        }
        klen = rec.len;
        /* value: user uid gid home dash ext, each NUL-terminated */
        for (i = 1; i < 7; i++)
            if (dstr_catb(&rec, f[i], flen[i]) == -1 ||
                dstr_catc(&rec, 0) == -1)
                goto out;
        if (add(arg, rec.s, klen, rec.s + klen, rec.len - klen) == -1)
            goto out;
    }
    if (!ended) {
        bad(err, line + 1, "missing the final \".\" line (file cut short?)");
        goto out;
    }
    r = 0;
out:
    dstr_free(&rec);
    return r;
}
