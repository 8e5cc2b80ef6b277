/*
 * smtpd_addr.c: parse SMTP paths and ESMTP parameters.  See smtpd_addr.h.
 *
 * Trusts nothing: every byte comes from the network.  Every scan is bounded
 * by the length given, the output by SMTPD_MAILBOX_MAX; nothing allocates.
 */
#include "smtpd_addr.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static int is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int is_letdig(unsigned char c) { return is_alpha(c) || is_digit(c); }

/* atext of RFC 5322 3.2.3 */
static int is_atext(unsigned char c)
{
    return is_letdig(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

size_t smtpd_domain_scan(const char *s, size_t len)
{
    size_t i = 0, end = 0;

    for (;;) {
        size_t start = i, last = 0;
        /* sub-domain = Let-dig [Ldh-str]: starts and ends with a letter or
         * digit, hyphens inside */
        while (i < len && (is_letdig((unsigned char)s[i]) || s[i] == '-')) {
            if (s[i] != '-')
                last = i + 1;
            i++;
        }
        if (i == start || s[start] == '-' || last != i ||
            i - start > SMTPD_LABEL_MAX)
            return end; /* not a label: the domain ends before it */
        end = i;
        if (end > SMTPD_DOMAIN_MAX)
            return 0;
        if (i + 1 < len && s[i] == '.' && is_letdig((unsigned char)s[i + 1]))
            i++;
        else
            return end;
    }
}

/* IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT, 0..255 */
static int ipv4_ok(const char *s, size_t len)
{
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t d = 0;
        while (i < len && is_digit((unsigned char)s[i]) && d < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
            d++;
        }
        if (d == 0 || v > 255)
            return 0;
        if (part < 3) {
            if (i >= len || s[i] != '.')
                return 0;
            i++;
        }
    }
    return i == len;
}

static int ipv6_ok(const char *s, size_t len)
{
    char buf[64];
    struct in6_addr a;
    size_t i;

    if (len == 0 || len >= sizeof buf)
        return 0;
    for (i = 0; i < len; i++) /* inet_pton is lax about nothing, but be sure */
        if (!(is_digit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.' ||
              (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    return inet_pton(AF_INET6, buf, &a) == 1;
}

size_t smtpd_literal_scan(const char *s, size_t len)
{
    const char *close;
    size_t n;

    if (len < 2 || s[0] != '[')
        return 0;
    close = memchr(s + 1, ']', len - 1);
    if (!close)
        return 0;
    n = (size_t)(close - (s + 1));
    if (n > 5 && strncasecmp(s + 1, "IPv6:", 5) == 0) {
        if (!ipv6_ok(s + 6, n - 5))
            return 0;
    } else if (!ipv4_ok(s + 1, n)) {
        return 0; /* general address literals are not accepted */
    }
    return n + 2;
}

/* Append n bytes to the path; 0, or -1 when it would be too long. */
static int put(smtpd_path *p, const char *s, size_t n)
{
    if (n > SMTPD_MAILBOX_MAX - p->len)
        return -1;
    memcpy(p->addr + p->len, s, n);
    p->len += n;
    p->addr[p->len] = 0;
    return 0;
}

/* A-d-l = At-domain *( "," At-domain ) ":"  -- syntax only, then ignored.
 * Returns bytes used, 0 if there is none, -1 on bad syntax. */
static long scan_route(const char *s, size_t len)
{
    size_t i = 0, d;

    if (len == 0 || s[0] != '@')
        return 0;
    for (;;) {
        if (i >= len || s[i] != '@')
            return -1;
        i++;
        d = smtpd_domain_scan(s + i, len - i);
        if (d == 0)
            return -1;
        i += d;
        if (i < len && s[i] == ',') {
            i++;
            continue;
        }
        if (i < len && s[i] == ':')
            return (long)(i + 1);
        return -1;
    }
}

/* Local-part into p.  Returns bytes of s used, or a negative error. */
static long scan_local(const char *s, size_t len, smtpd_path *p)
{
    size_t i = 0;

    if (len == 0)
        return SMTPD_PATH_SYNTAX;
    if (s[0] == '"') {
        /* Quoted-string: qtextSMTP = %d32-33 / %d35-91 / %d93-126,
         * quoted-pairSMTP = "\" %d32-126; kept without the quoting */
        for (i = 1; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"')
                break;
            if (c == '\\') {
                if (i + 1 >= len)
                    return SMTPD_PATH_SYNTAX;
                c = (unsigned char)s[++i];
            }
            if (c < 32 || c > 126)
                return SMTPD_PATH_SYNTAX;
            if (put(p, (const char *)&c, 1) == -1)
                return SMTPD_PATH_TOOLONG;
        }
        if (i >= len || p->len == 0)
            return SMTPD_PATH_SYNTAX; /* unterminated, or "" */
        return (long)(i + 1);
    }
    /* Dot-string = Atom *("." Atom) */
    for (;;) {
        size_t start = i;
        while (i < len && is_atext((unsigned char)s[i]))
            i++;
        if (i == start)
            return SMTPD_PATH_SYNTAX;
        if (i < len && s[i] == '.') {
            i++;
            continue;
        }
        break;
    }
    if (put(p, s, i) == -1)
        return SMTPD_PATH_TOOLONG;
    return (long)i;
}

int smtpd_path_parse(const char *s, size_t len, unsigned flags,
                     smtpd_path *p, size_t *end)
{
    size_t i = 0, d;
    long r;

    p->len = 0;
    p->at = 0;
    p->literal = 0;
    p->addr[0] = 0;
    if (len < 2 || s[0] != '<')
        return SMTPD_PATH_SYNTAX;
    i = 1;
    if (s[i] == '>') {
        if (!(flags & SMTPD_PATH_SENDER))
            return SMTPD_PATH_SYNTAX;
        *end = 2;
        return SMTPD_PATH_OK;
    }
    r = scan_route(s + i, len - i);
    if (r < 0)
        return SMTPD_PATH_SYNTAX;
    i += (size_t)r;
    /* <postmaster>, without a domain, names this server's postmaster
     * (RFC 5321 4.1.1.3); only as a recipient, and never with a route */
    if ((flags & SMTPD_PATH_RCPT) && r == 0 && len - i >= 11 &&
        strncasecmp(s + i, "postmaster>", 11) == 0) {
        (void)put(p, "postmaster", 10);
        p->at = p->len;
        *end = i + 11;
        return SMTPD_PATH_OK;
    }
    r = scan_local(s + i, len - i, p);
    if (r < 0)
        return (int)r;
    i += (size_t)r;
    if (i >= len || s[i] != '@')
        return SMTPD_PATH_SYNTAX;
    p->at = p->len;
    if (put(p, "@", 1) == -1)
        return SMTPD_PATH_TOOLONG;
    i++;
    d = smtpd_literal_scan(s + i, len - i);
    if (d > 0) {
        p->literal = 1;
    } else {
        d = smtpd_domain_scan(s + i, len - i);
        if (d == 0) {
            /* a domain that is only too long is still "too long" */
            return SMTPD_PATH_SYNTAX;
        }
    }
    if (put(p, s + i, d) == -1)
        return SMTPD_PATH_TOOLONG;
    i += d;
    if (i >= len || s[i] != '>')
        return SMTPD_PATH_SYNTAX;
    *end = i + 1;
    return SMTPD_PATH_OK;
}

int smtpd_param_next(const char *s, size_t len, size_t *pos,
                     smtpd_param *pp)
{
    size_t i = *pos, start;

    if (i >= len)
        return 0;
    if (s[i] != ' ')
        return -1; /* a path must be followed by a space or the end */
    while (i < len && s[i] == ' ')
        i++;
    if (i >= len) {
        *pos = i;
        return 0;
    }
    /* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
    start = i;
    if (!is_letdig((unsigned char)s[i]))
        return -1;
    while (i < len && (is_letdig((unsigned char)s[i]) || s[i] == '-'))
        i++;
    pp->key = s + start;
    pp->keylen = i - start;
    pp->value = 0;
    pp->valuelen = 0;
    if (i < len && s[i] == '=') {
        /* esmtp-value = 1*(%d33-60 / %d62-126) */
        i++;
        start = i;
        while (i < len && (unsigned char)s[i] >= 33 &&
               (unsigned char)s[i] <= 126 && s[i] != '=')
            i++;
        if (i == start)
            return -1;
        pp->value = s + start;
        pp->valuelen = i - start;
    }
    if (i < len && s[i] != ' ')
        return -1;
    *pos = i;
    return 1;
}

int smtpd_param_is(const smtpd_param *pp, const char *kw)
{
    size_t n = strlen(kw);
    return pp->keylen == n && strncasecmp(pp->key, kw, n) == 0;
}
