/*
 * inject_header.c: collect and fix up a message header.  See
 * inject_header.h.
 *
 * Field names are matched without regard to case.  Fields are written in
 * their original order and form; only the addresses that qualification
 * changes are replaced, inside the field's own text.
 */
#include "inject_header.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "timeutil.h"

size_t inject_header_fieldname(const char *line, size_t len, size_t *valoff)
{
    size_t i = 0, namelen;

    while (i < len) {
        unsigned char c = (unsigned char)line[i];
        if (c <= 32 || c >= 127 || c == ':')
            break;
        i++;
    }
    namelen = i;
    if (namelen == 0)
        return 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++; /* obsolete syntax: "Subject :" */
    if (i >= len || line[i] != ':')
        return 0;
    *valoff = i + 1;
    return namelen;
}

int inject_header_is_continuation(const char *line, size_t len)
{
    return len > 0 && (line[0] == ' ' || line[0] == '\t');
}

static int cat_line(dstr *d, const char *line, size_t len)
{
    if (dstr_catb(d, line, len) == -1)
        return -1;
    if (len == 0 || line[len - 1] != '\n')
        return dstr_catc(d, '\n');
    return 0;
}

int inject_header_add(inject_header *h, const char *line, size_t len)
{
    inject_field *fld;
    size_t valoff = 0, namelen = inject_header_fieldname(line, len, &valoff);
    size_t before = h->raw.len;

    if (namelen == 0) {
        errno = EINVAL;
        return -1;
    }
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 32;
        inject_field *nf;
        if (ncap > SIZE_MAX / sizeof(inject_field)) {
            errno = ENOMEM;
            return -1;
        }
        nf = realloc(h->f, ncap * sizeof(inject_field));
        if (!nf) {
            errno = ENOMEM;
            return -1;
        }
        h->f = nf;
        h->cap = ncap;
    }
    if (cat_line(&h->raw, line, len) == -1)
        return -1;
    fld = &h->f[h->n++];
    fld->off = before;
    fld->len = h->raw.len - before;
    fld->namelen = namelen;
    fld->valoff = valoff;
    return 0;
}

int inject_header_continue(inject_header *h, const char *line, size_t len)
{
    size_t before = h->raw.len;

    if (h->n == 0) {
        errno = EINVAL;
        return -1;
    }
    if (cat_line(&h->raw, line, len) == -1)
        return -1;
    h->f[h->n - 1].len += h->raw.len - before;
    return 0;
}

void inject_header_free(inject_header *h)
{
    dstr_free(&h->raw);
    free(h->f);
    h->f = 0;
    h->n = h->cap = 0;
}

/* What each known field is. */
#define HF_ADDR 0x001       /* holds addresses: qualify them */
#define HF_RCPT 0x002       /* recipients of a plain message */
#define HF_RRCPT 0x004      /* recipients of a resent message */
#define HF_DELETE 0x008     /* never written out */
#define HF_RETPATH 0x010
#define HF_DATE 0x020
#define HF_MSGID 0x040
#define HF_FROM 0x080
#define HF_RDATE 0x100
#define HF_RMSGID 0x200
#define HF_RFROM 0x400

static const struct {
    const char *name;
    unsigned kind;
} known_fields[] = {
    {"From", HF_ADDR | HF_FROM},
    {"Sender", HF_ADDR},
    {"Reply-To", HF_ADDR},
    {"To", HF_ADDR | HF_RCPT},
    {"Cc", HF_ADDR | HF_RCPT},
    {"Bcc", HF_ADDR | HF_RCPT | HF_DELETE},
    {"Apparently-To", HF_ADDR | HF_RCPT},
    {"Errors-To", HF_ADDR},
    {"Return-Receipt-To", HF_ADDR},
    {"Disposition-Notification-To", HF_ADDR},
    {"Mail-Reply-To", HF_ADDR},
    {"Mail-Followup-To", HF_ADDR},
    {"Resent-From", HF_ADDR | HF_RFROM},
    {"Resent-Sender", HF_ADDR},
    {"Resent-Reply-To", HF_ADDR},
    {"Resent-To", HF_ADDR | HF_RRCPT},
    {"Resent-Cc", HF_ADDR | HF_RRCPT},
    {"Resent-Bcc", HF_ADDR | HF_RRCPT | HF_DELETE},
    {"Return-Path", HF_RETPATH | HF_DELETE},
    {"Content-Length", HF_DELETE},
    {"Date", HF_DATE},
    {"Message-ID", HF_MSGID},
    {"Resent-Date", HF_RDATE},
    {"Resent-Message-ID", HF_RMSGID},
};

static unsigned field_kind(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
        if (strlen(known_fields[i].name) == len &&
            strncasecmp(known_fields[i].name, name, len) == 0)
            return known_fields[i].kind;
    return 0;
}

static int is_resent_name(const char *name, size_t len)
{
    return len > 7 && strncasecmp(name, "Resent-", 7) == 0;
}

void inject_fixed_free(inject_fixed *fx)
{
    inject_addrlist_free(&fx->rcpts);
    dstr_free(&fx->return_path.local);
    dstr_free(&fx->return_path.domain);
}

static int take_return_path(inject_fixed *fx, const char *val, size_t len,
                            const inject_qual *q)
{
    inject_addrlist l = INJECT_ADDRLIST_ZERO;
    int r = -1;

    if (fx->have_return_path)
        return 0; /* the first one counts */
    if (inject_addr_parse(val, len, &l) == -1)
        goto done;
    if (l.n > 0) {
        inject_addr *a = &l.v[0];
        if (inject_addr_qualify(a, q) == -1)
            goto done;
        fx->return_path = *a; /* take ownership of its strings */
        memset(a, 0, sizeof *a);
        fx->have_return_path = 1;
    }
    r = 0;
done:
    inject_addrlist_free(&l);
    return r;
}

int inject_header_fix(const inject_header *h, const inject_qual *q,
                      int flags, dstr *out, inject_fixed *fx)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        if (is_resent_name(h->raw.s + h->f[i].off, h->f[i].namelen))
            fx->resent = 1;
    for (i = 0; i < h->n; i++) {
        const inject_field *fld = &h->f[i];
        const char *line = h->raw.s + fld->off;
        const char *val = line + fld->valoff;
        size_t vlen = fld->len - fld->valoff;
        unsigned kind = field_kind(line, fld->namelen);
        unsigned rcptkind = fx->resent ? HF_RRCPT : HF_RCPT;

        if (kind & HF_RETPATH) {
            if (take_return_path(fx, val, vlen, q) == -1)
                return -1;
            continue;
        }
        if ((kind & HF_FROM) && (flags & INJECT_DROP_FROM))
            continue;
        if ((kind & HF_MSGID) && (flags & INJECT_DROP_MSGID))
            continue;
        if (kind & HF_ADDR) {
            size_t before = out->len;
            if (dstr_catb(out, line, fld->valoff) == -1 ||
                inject_addr_rewrite(val, vlen, q, out,
                                    (kind & rcptkind) ? &fx->rcpts : 0) == -1)
                return -1;
            if (kind & HF_DELETE)
                out->len = before;
        } else if (!(kind & HF_DELETE)) {
            if (dstr_catb(out, line, fld->len) == -1)
                return -1;
        }
        if (kind & HF_DELETE)
            continue;
        if (kind & HF_DATE)
            fx->seen |= INJECT_SEEN_DATE;
        if (kind & HF_MSGID)
            fx->seen |= INJECT_SEEN_MSGID;
        if (kind & HF_FROM)
            fx->seen |= INJECT_SEEN_FROM;
        if (kind & HF_RDATE)
            fx->seen |= INJECT_SEEN_RDATE;
        if (kind & HF_RMSGID)
            fx->seen |= INJECT_SEEN_RMSGID;
        if (kind & HF_RFROM)
            fx->seen |= INJECT_SEEN_RFROM;
    }
    return 0;
}

static int add_field(dstr *out, const char *name, const char *value)
{
    if (dstr_cats(out, name) == -1 || dstr_cats(out, ": ") == -1 ||
        dstr_cats(out, value) == -1 || dstr_catc(out, '\n') == -1)
        return -1;
    return 0;
}

int inject_header_additions(const inject_fixed *fx, const char *date,
                            const char *msgid, const char *from, dstr *out)
{
    if (fx->resent) {
        if (!(fx->seen & INJECT_SEEN_RDATE) &&
            add_field(out, "Resent-Date", date) == -1)
            return -1;
        if (!(fx->seen & INJECT_SEEN_RMSGID) &&
            add_field(out, "Resent-Message-ID", msgid) == -1)
            return -1;
        if (!(fx->seen & INJECT_SEEN_RFROM) &&
            add_field(out, "Resent-From", from) == -1)
            return -1;
    }
    if (!(fx->seen & INJECT_SEEN_DATE) && add_field(out, "Date", date) == -1)
        return -1;
    if (!(fx->seen & INJECT_SEEN_MSGID) &&
        add_field(out, "Message-ID", msgid) == -1)
        return -1;
    if (!(fx->seen & INJECT_SEEN_FROM) && add_field(out, "From", from) == -1)
        return -1;
    return 0;
}

/* Append a comment's text: control characters dropped, parentheses and
 * backslashes escaped. */
static int cat_comment(dstr *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 32 || c == 127)
            continue;
        if ((c == '(' || c == ')' || c == '\\') && dstr_catc(out, '\\') == -1)
            return -1;
        if (dstr_catc(out, (char)c) == -1)
            return -1;
    }
    return 0;
}

int inject_make_from(dstr *out, const char *name, const char *user,
                     const char *host, int comment_style)
{
    int has_name = name && *name;

    if (has_name && !comment_style) {
        if (inject_quote_phrase(name, strlen(name), out) == -1 ||
            dstr_cats(out, " <") == -1)
            return -1;
    }
    if (inject_quote_local(user, strlen(user), out) == -1 ||
        dstr_catc(out, '@') == -1 || dstr_cats(out, host) == -1)
        return -1;
    if (has_name && !comment_style)
        return dstr_catc(out, '>');
    if (has_name && comment_style) {
        if (dstr_cats(out, " (") == -1 || cat_comment(out, name) == -1 ||
            dstr_catc(out, ')') == -1)
            return -1;
    }
    return 0;
}

int inject_make_msgid(dstr *out, const char *idhost)
{
    static unsigned long counter;
    int64_t us = time_real_us();
    unsigned char rnd[6];
    size_t i;

    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        /* no entropy yet: time, pid and counter are still unique here */
        memset(rnd, 0, sizeof rnd);
    }
    if (dstr_catf(out, "<%lld.%06lld.%ld.%lu.", (long long)(us / 1000000),
                  (long long)(us % 1000000), (long)getpid(), counter++) == -1)
        return -1;
    for (i = 0; i < sizeof rnd; i++)
        if (dstr_catf(out, "%02x", rnd[i]) == -1)
            return -1;
    if (dstr_catc(out, '@') == -1 || dstr_cats(out, idhost) == -1 ||
        dstr_catc(out, '>') == -1)
        return -1;
    return 0;
}
