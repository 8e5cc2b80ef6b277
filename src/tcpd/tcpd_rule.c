/*
 * tcpd_rule.c: one line of the rules text, and the cdb keys and values it
 * becomes.  Called by tcpd_rules_make.c (qmail-tcprules) and by the unit
 * tests; tcpd_verdict_parse is qmail-tcpd's check of what it reads back.
 *
 * Trust: the text is the administrator's, but a mistake in it must never
 * turn into a rule that means something else: anything not exactly in the
 * documented syntax is refused with a reason (tcpd_rules.h).
 */
#include "tcpd_rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "num.h"

#define ADDR_TEXT_MAX 128

static const char *const protected_names[] = {
    "PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT",
};

static int fail(dstr *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(dstr *err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (dstr_copys(err, buf) == -1 || dstr_cat0(err) == -1)
        err->len = 0; /* out of memory: the caller still sees -1 */
    return -1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hexval(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tcpd_rule_name_ok(const char *name, size_t len)
{
    size_t i;

    if (len == 0 || len > TCPD_RULE_NAME_MAX || is_digit(name[0]))
        return 0;
    for (i = 0; i < len; i++)
        if (!is_alnum(name[i]) && name[i] != '_')
            return 0;
    for (i = 0; i < sizeof protected_names / sizeof protected_names[0]; i++)
        if (strlen(protected_names[i]) == len &&
            memcmp(protected_names[i], name, len) == 0)
            return 0;
    return 1;
}

static int name_protected(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < sizeof protected_names / sizeof protected_names[0]; i++)
        if (strlen(protected_names[i]) == len &&
            memcmp(protected_names[i], name, len) == 0)
            return 1;
    return 0;
}

/* An IPv6 prefix of 96 bits or more inside ::ffff:0:0/96 is IPv4. */
static void unmap(tcpd_prefix *p)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};
    if (p->addr.family == 6 && p->bits >= 96 &&
        memcmp(p->addr.b, mapped, sizeof mapped) == 0) {
        memmove(p->addr.b, p->addr.b + 12, 4);
        memset(p->addr.b + 4, 0, 12);
        p->addr.family = 4;
        p->bits -= 96;
    }
}

/* "10.0.0.0/8", "2001:db8::/32" */
static int parse_cidr(const char *text, const char *slash, tcpd_rule *r,
                      dstr *err)
{
    char addr[ADDR_TEXT_MAX];
    unsigned long long bits;
    size_t alen = (size_t)(slash - text);
    tcpd_prefix *p = &r->prefix[0];
    int wasv6 = memchr(text, ':', alen) != 0;

    memcpy(addr, text, alen);
    addr[alen] = 0;
    if (tcpd_addr_parse(addr, &p->addr) == -1)
        return fail(err, "%s: '%s' is not an IPv4 or IPv6 address", text,
                    addr);
    if (!slash[1] || strlen(slash + 1) > 3 ||
        num_scan_ulong_str(slash + 1, &bits) == -1)
        return fail(err, "%s: the prefix length after '/' must be a number",
                    text);
    if (wasv6 && p->addr.family == 4) {
        /* ::ffff:a.b.c.d/N: an IPv4-mapped network */
        if (bits < 96 || bits > 128)
            return fail(err, "%s: an IPv4-mapped network needs a length "
                        "from /96 to /128", text);
        p->addr.family = 6;
        memmove(p->addr.b + 12, p->addr.b, 4);
        memset(p->addr.b, 0, 10);
        p->addr.b[10] = p->addr.b[11] = 0xff;
    }
    if (bits > tcpd_addr_bits(&p->addr))
        return fail(err, "%s: the length must be at most %u", text,
                    tcpd_addr_bits(&p->addr));
    p->bits = (unsigned)bits;
    if (!tcpd_addr_is_masked(&p->addr, p->bits)) {
        char net[TCPD_ADDR_STRMAX];
        tcpd_addr m = p->addr;
        tcpd_addr_mask(&m, p->bits);
        tcpd_addr_format(&m, net);
        return fail(err, "%s: bits are set beyond /%u (the network is "
                    "%s/%u)", text, p->bits, net, p->bits);
    }
    unmap(p);
    r->nprefix = 1;
    return 0;
}

/* "2001:db8:" : whole 16-bit groups */
static int parse_v6_groups(const char *text, tcpd_rule *r, dstr *err)
{
    tcpd_prefix *p = &r->prefix[0];
    const char *s = text;
    unsigned groups = 0;

    memset(p, 0, sizeof *p);
    p->addr.family = 6;
    while (*s) {
        unsigned v = 0, digits = 0;
        while (*s && *s != ':') {
            int h = hexval(*s);
            if (h < 0)
                return fail(err, "%s: '%c' is not a hex digit", text, *s);
            if (++digits > 4)
                return fail(err, "%s: a group has at most 4 hex digits",
                            text);
            v = v * 16 + (unsigned)h;
            s++;
        }
        if (!digits)
            return fail(err, "%s: a prefix of groups cannot hold '::'; "
                        "write it as CIDR (e.g. 2001:db8::/32)", text);
        if (groups == 7)
            return fail(err, "%s: 8 groups make a whole address; leave "
                        "out the last ':'", text);
        p->addr.b[2 * groups] = (unsigned char)(v >> 8);
        p->addr.b[2 * groups + 1] = (unsigned char)v;
        groups++;
        s++; /* the ':' after the group: the text ends with one */
    }
    p->bits = 16 * groups;
    unmap(p);
    r->nprefix = 1;
    return 0;
}

/* One decimal octet, or a range a-b when allowed.  Returns 0 or -1. */
static int parse_octet(const char *text, const char *s, size_t n,
                       int range_ok, unsigned *lo, unsigned *hi, dstr *err)
{
    const char *dash = memchr(s, '-', n);
    unsigned long long v;
    size_t part;
    int k;

    if (dash && !range_ok)
        return fail(err, "%s: a range is allowed only in the last octet",
                    text);
    for (k = 0; k < (dash ? 2 : 1); k++) {
        const char *q = k ? dash + 1 : s;
        part = k ? (size_t)(s + n - q) : (dash ? (size_t)(dash - s) : n);
        if (part == 0)
            return fail(err, "%s: an octet is empty", text);
        if (part > 3 || num_scan_ulong(q, part, &v) == -1)
            return fail(err, "%s: '%.*s' is not an octet (0-255)", text,
                        (int)(n > 20 ? 20 : n), s);
        if (v > 255)
            return fail(err, "%s: %llu is over 255", text, v);
        if (part > 1 && q[0] == '0')
            return fail(err, "%s: octets are written without leading "
                        "zeros", text);
        if (k)
            *hi = (unsigned)v;
        else
            *lo = *hi = (unsigned)v;
    }
    if (*lo > *hi)
        return fail(err, "%s: the range %u-%u goes backwards", text, *lo,
                    *hi);
    return 0;
}

/* "1.2.3.4", "1.2.3.", "1.2.3.4-7", "10.2-3." */
static int parse_v4(const char *text, tcpd_rule *r, dstr *err)
{
    size_t len = strlen(text);
    int prefix = text[len - 1] == '.';
    size_t body = prefix ? len - 1 : len;
    unsigned char oct[4] = {0, 0, 0, 0};
    unsigned noct = 0, lo = 0, hi = 0, v;
    size_t i = 0;

    for (i = 0; i < len; i++)
        if (!is_digit(text[i]) && text[i] != '.' && text[i] != '-')
            return fail(err, "%s: not an address (IPv4: 1.2.3.4, 1.2.3., "
                        "1.2.3.4-7, 10.0.0.0/8; IPv6: ::1, 2001:db8:, "
                        "2001:db8::/32)", text);
    i = 0;
    for (;;) {
        const char *dot = memchr(text + i, '.', body - i);
        size_t n = dot ? (size_t)(dot - (text + i)) : body - i;
        int last = !dot;
        if (noct == 4)
            return fail(err, "%s: more than 4 octets", text);
        if (parse_octet(text, text + i, n, last, &lo, &hi, err) == -1)
            return -1;
        if (!last)
            oct[noct] = (unsigned char)lo;
        noct++;
        if (last)
            break;
        i += n + 1;
    }
    if (prefix && noct > 3)
        return fail(err, "%s: 4 octets make a whole address; leave out "
                    "the last '.'", text);
    if (!prefix && noct != 4)
        return fail(err, "%s: an address has 4 octets; end a prefix "
                    "with '.' (e.g. %s.)", text, text);
    r->nprefix = 0;
    for (v = lo; v <= hi; v++) {
        tcpd_prefix *p = &r->prefix[r->nprefix++];
        memset(p, 0, sizeof *p);
        p->addr.family = 4;
        memcpy(p->addr.b, oct, 4);
        p->addr.b[noct - 1] = (unsigned char)v;
        p->bits = 8 * noct;
    }
    return 0;
}

static int parse_address(const char *s, size_t n, tcpd_rule *r, dstr *err)
{
    char text[ADDR_TEXT_MAX];
    const char *slash;

    r->nprefix = 0;
    if (n == 0) {
        memset(&r->prefix[0], 0, sizeof r->prefix[0]);
        r->nprefix = 1;
        return 0;
    }
    if (n >= sizeof text)
        return fail(err, "the address is too long");
    memcpy(text, s, n);
    text[n] = 0;
    slash = strchr(text, '/');
    if (slash)
        return parse_cidr(text, slash, r, err);
    if (strchr(text, ':')) {
        if (strchr(text, '-'))
            return fail(err, "%s: ranges are for IPv4; write IPv6 "
                        "networks as CIDR (2001:db8::/32)", text);
        if (n >= 2 && text[n - 1] == ':' && text[n - 2] != ':')
            return parse_v6_groups(text, r, err);
        if (tcpd_addr_parse(text, &r->prefix[0].addr) == -1)
            return fail(err, "%s: not an IPv6 address", text);
        r->prefix[0].bits = tcpd_addr_bits(&r->prefix[0].addr);
        r->nprefix = 1;
        return 0;
    }
    return parse_v4(text, r, err);
}

/* ":allow" or ":deny" at s (just after the ':'), followed by ',' or the
 * end.  Returns the word's length, 0 if none. */
static size_t instruction_at(const char *s, size_t n, int *allow)
{
    if (n >= 5 && memcmp(s, "allow", 5) == 0 && (n == 5 || s[5] == ',')) {
        *allow = 1;
        return 5;
    }
    if (n >= 4 && memcmp(s, "deny", 4) == 0 && (n == 4 || s[4] == ',')) {
        *allow = 0;
        return 4;
    }
    return 0;
}

static int var_seen(const tcpd_rule *r, const char *name, size_t len)
{
    size_t i = 0;
    while (i < r->vars.len) {
        const char *e = r->vars.s + i;
        size_t elen = strlen(e);
        if (elen > len && e[len] == '=' && memcmp(e, name, len) == 0)
            return 1;
        i += elen + 1;
    }
    return 0;
}

static int parse_vars(const char *s, size_t n, tcpd_rule *r, dstr *err)
{
    size_t pos = 0;

    while (pos < n) {
        size_t name_at, name_len, val_at, val_len;
        if (s[pos] != ',')
            return fail(err, "expected ',' before '%.20s'", s + pos);
        pos++;
        name_at = pos;
        while (pos < n && s[pos] != '=' && s[pos] != ',')
            pos++;
        name_len = pos - name_at;
        if (name_len == 0 && pos == n)
            return fail(err, "the line ends with a ',' and nothing after "
                        "it");
        if (name_len == 0 && s[pos] == ',')
            return fail(err, "an empty item between two ','");
        if (pos == n || s[pos] != '=')
            return fail(err, "'%.*s' needs a value: NAME=VALUE",
                        (int)(name_len > 60 ? 60 : name_len), s + name_at);
        if (name_protected(s + name_at, name_len))
            return fail(err, "%.*s is set by qmail-tcpd from the "
                        "connection; a rule cannot set it", (int)name_len,
                        s + name_at);
        if (!tcpd_rule_name_ok(s + name_at, name_len))
            return fail(err, "'%.*s' is not a variable name (letters, "
                        "digits and '_', not starting with a digit)",
                        (int)(name_len > 60 ? 60 : name_len), s + name_at);
        if (var_seen(r, s + name_at, name_len))
            return fail(err, "%.*s is set twice", (int)name_len,
                        s + name_at);
        if (r->nvars == TCPD_RULE_VARS_MAX)
            return fail(err, "more than %d variables",
                        TCPD_RULE_VARS_MAX);
        pos++; /* '=' */
        if (pos == n || s[pos] == ',') {
            val_at = pos;
            val_len = 0;
        } else if (is_alnum(s[pos])) {
            val_at = pos;
            while (pos < n && s[pos] != ',')
                pos++;
            val_len = pos - val_at;
        } else {
            char quote = s[pos];
            const char *close = memchr(s + pos + 1, quote, n - pos - 1);
            if (!close)
                return fail(err, "the value of %.*s starts with '%c', "
                            "which is taken as its quote, but no '%c' "
                            "closes it (write NAME=\"value\")",
                            (int)name_len, s + name_at, quote, quote);
            val_at = pos + 1;
            val_len = (size_t)(close - (s + val_at));
            pos = (size_t)(close - s) + 1;
            if (pos < n && s[pos] != ',')
                return fail(err, "after the quoted value of %.*s comes "
                            "'%.20s'; expected ',' or the end of the line",
                            (int)name_len, s + name_at, s + pos);
        }
        if (dstr_catb(&r->vars, s + name_at, name_len) == -1 ||
            dstr_catc(&r->vars, '=') == -1 ||
            dstr_catb(&r->vars, s + val_at, val_len) == -1 ||
            dstr_catc(&r->vars, 0) == -1)
            return fail(err, "out of memory");
        r->nvars++;
    }
    return 0;
}

static int rule_parse(const char *line, size_t len, tcpd_rule *r, dstr *err);

/* The error messages quote parts of the line with "%.20s", which reads up
 * to a NUL: parse a NUL-terminated copy, whatever the caller passed. */
int tcpd_rule_parse(const char *line, size_t len, tcpd_rule *r, dstr *err)
{
    dstr copy = DSTR_ZERO;
    int ret;

    if (dstr_catb(&copy, line, len) == -1 || dstr_cat0(&copy) == -1) {
        dstr_free(&copy);
        return fail(err, "out of memory");
    }
    ret = rule_parse(copy.s, copy.len, r, err);
    dstr_free(&copy);
    return ret;
}

static int rule_parse(const char *line, size_t len, tcpd_rule *r, dstr *err)
{
    size_t start = 0, end = len, i, word = 0;
    int allow = 0;

    r->nprefix = 0;
    r->nvars = 0;
    r->vars.len = 0;
    r->allow = 0;
    while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r' ||
                       line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    while (start < end && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (start == end || line[start] == '#')
        return 0;
    for (i = start; i < end; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 32 || c == 127)
            return fail(err, "control character (byte %u) in the line", c);
    }
    for (i = start; i < end; i++)
        if (line[i] == ':' &&
            (word = instruction_at(line + i + 1, end - i - 1, &allow)))
            break;
    if (i == end)
        return fail(err, "no ':allow' or ':deny' (a rule is "
                    "ADDRESS:allow|deny[,NAME=VALUE]...)");
    if (parse_address(line + start, i - start, r, err) == -1)
        return -1;
    r->allow = allow;
    if (parse_vars(line + i + 1 + word, end - i - 1 - word, r, err) == -1)
        return -1;
    return 1;
}

int tcpd_prefix_key(const tcpd_prefix *p, dstr *key)
{
    char text[TCPD_ADDR_STRMAX];

    key->len = 0;
    if (p->addr.family == 0)
        return dstr_reserve(key, 1);
    tcpd_addr_format(&p->addr, text);
    if (dstr_cats(key, text) == -1 || dstr_catc(key, '/') == -1 ||
        dstr_catulong(key, p->bits) == -1)
        return -1;
    return 0;
}

int tcpd_rule_value(const tcpd_rule *r, unsigned long lineno, dstr *value)
{
    value->len = 0;
    if (dstr_catc(value, r->allow ? 'A' : 'D') == -1 ||
        dstr_catulong(value, lineno) == -1 || dstr_catc(value, 0) == -1 ||
        dstr_cat(value, &r->vars) == -1)
        return -1;
    return 0;
}

int tcpd_verdict_parse(const char *v, size_t len, tcpd_verdict *out)
{
    const char *nul;
    unsigned long long line;
    size_t i;

    memset(out, 0, sizeof *out);
    if (len < 3 || (v[0] != 'A' && v[0] != 'D'))
        goto bad;
    nul = memchr(v, 0, len);
    if (!nul || nul - v < 2 || nul - v > 21 ||
        num_scan_ulong(v + 1, (size_t)(nul - v - 1), &line) == -1)
        goto bad;
    out->allow = v[0] == 'A';
    out->line = (unsigned long)line;
    out->vars = nul + 1;
    out->varslen = len - (size_t)(nul + 1 - v);
    i = 0;
    while (i < out->varslen) {
        const char *e = out->vars + i;
        const char *end = memchr(e, 0, out->varslen - i);
        const char *eq;
        const char *c;
        if (!end)
            goto bad;
        eq = memchr(e, '=', (size_t)(end - e));
        if (!eq || !tcpd_rule_name_ok(e, (size_t)(eq - e)))
            goto bad;
        for (c = eq + 1; c < end; c++)
            if ((unsigned char)*c < 32 || *c == 127)
                goto bad;
        if (++out->nvars > TCPD_RULE_VARS_MAX)
            goto bad;
        i = (size_t)(end - out->vars) + 1;
    }
    return 0;
bad:
    memset(out, 0, sizeof *out);
    errno = EINVAL;
    return -1;
}
