/*
 * tcpd_rules: access rules for qmail-tcpd, compiled by qmail-tcprules.
 *
 * Text format, one rule per line (qmail-tcprules(8) is the reference):
 *
 *   ADDRESS:allow[,NAME=VALUE]...
 *   ADDRESS:deny[,NAME=VALUE]...
 *
 * Blank lines and lines starting with '#' are ignored; white space at
 * either end of a line is ignored.  ADDRESS is one of
 *
 *   (empty)            every client
 *   1.2.3.4            one IPv4 address
 *   1.2.3.             an IPv4 prefix on octet boundaries (1 to 3 octets)
 *   1.2.3.4-7  1.2-3.  a range in the last octet given: one rule per value
 *   10.0.0.0/8         IPv4 CIDR (no bits set beyond the length)
 *   ::1                one IPv6 address
 *   2001:db8:          an IPv6 prefix of whole 16-bit groups (1 to 7
 *                      groups, no "::"), here 2001:db8::/32
 *   2001:db8::/32      IPv6 CIDR
 *
 * IPv4-mapped IPv6 forms (::ffff:1.2.3.4, ::ffff:0:0/96 and longer) are
 * turned into the IPv4 rule they mean.  VALUE is either unquoted (it
 * starts with a letter or digit and runs to the next ',' or the end of the
 * line) or quoted: its first character, any other, is the quote, and the
 * value runs to the next occurrence of that character ("", //, ...).
 *
 * Each rule becomes one or more prefixes, each stored under its canonical
 * text ("10.0.0.0/8", "::1/128", "" for every client) in a cdb whose
 * values are "A" or "D", the rule's line number, a NUL, and then
 * "NAME=VALUE\0" for each variable.  A key "#format" marks the file as
 * ours.
 *
 * Matching (tcpd_rules_find): the longest prefix of the client's own
 * family that has a rule wins, from /32 (/128) down to /0; then the empty
 * address; when nothing matches the client is allowed, with no variables.
 *
 * Trust: the rules text is the administrator's and is checked strictly;
 * the cdb is read by a daemon that strangers talk to, so every value is
 * checked again before it is used (a damaged file denies, never crashes).
 */
#ifndef TCPD_RULES_H
#define TCPD_RULES_H

#include <stddef.h>

#include "dstr.h"
#include "tcpd_addr.h"

#define TCPD_RULE_LINE_MAX 65536  /* bytes per line */
#define TCPD_RULE_PREFIX_MAX 256  /* prefixes one line (a range) makes */
#define TCPD_RULE_VARS_MAX 64     /* variables per rule */
#define TCPD_RULE_NAME_MAX 128    /* bytes of a variable name */
#define TCPD_RULES_FORMAT_KEY "#format"
#define TCPD_RULES_FORMAT "qmail-tcprules 1"

/* One prefix: family 0 (and bits 0) means every client. */
typedef struct tcpd_prefix {
    tcpd_addr addr;
    unsigned bits;
} tcpd_prefix;

typedef struct tcpd_rule {
    tcpd_prefix prefix[TCPD_RULE_PREFIX_MAX];
    size_t nprefix;
    int allow;
    dstr vars;      /* "NAME=VALUE\0" for each variable */
    size_t nvars;
} tcpd_rule;

/* Parse one line (a trailing "\n" is allowed).  Returns 1 for a rule, 0
 * for a blank or comment line, -1 for a bad line with the reason in err
 * (replaced, NUL-terminated, without the line number).  r->vars is
 * reused: free it with dstr_free when done. */
int tcpd_rule_parse(const char *line, size_t len, tcpd_rule *r, dstr *err);

/* The cdb key of a prefix (replaced, not NUL-terminated). */
int tcpd_prefix_key(const tcpd_prefix *p, dstr *key);
/* The cdb value of a rule read from line lineno (replaced). */
int tcpd_rule_value(const tcpd_rule *r, unsigned long lineno, dstr *value);

/* 1 if name is a variable name a rule may set: [A-Za-z_][A-Za-z0-9_]*,
 * at most TCPD_RULE_NAME_MAX bytes, and none of the variables qmail-tcpd
 * itself sets from the connection (PROTO, TCPLOCALIP, TCPLOCALPORT,
 * TCPREMOTEIP, TCPREMOTEPORT), which a rule could only make lie. */
int tcpd_rule_name_ok(const char *name, size_t len);

/* A decoded cdb value. */
typedef struct tcpd_verdict {
    int allow;
    unsigned long line;     /* line of the rule, 0 when no rule matched */
    const char *vars;       /* "NAME=VALUE\0"..., into the value given */
    size_t varslen;
    size_t nvars;
} tcpd_verdict;

/* Check and decode a value.  Returns 0, or -1 with errno EINVAL. */
int tcpd_verdict_parse(const char *v, size_t len, tcpd_verdict *out);

/* Look up the rule for client a in the cdb at path.  Returns 1 with the
 * value in value and the matching key in key, 0 when no rule matches,
 * -1 on error with errno (ENOENT: no such file; EINVAL or EPROTO: not a
 * file made by qmail-tcprules, or damaged). */
int tcpd_rules_find(const char *path, const tcpd_addr *a, dstr *value,
                    dstr *key);
/* The same decision as qmail-tcpd takes: fills v (vars point into
 * value).  Returns 0, or -1 (errno as tcpd_rules_find, or EINVAL for a
 * bad value); on -1 the connection must be refused. */
int tcpd_rules_decide(const char *path, const tcpd_addr *a, dstr *value,
                      dstr *key, tcpd_verdict *v);
/* Check that path is a readable rules cdb of ours.  0 or -1 (errno). */
int tcpd_rules_check(const char *path);

/* Compile rules text read from fd into cdb, through tmp (removed first,
 * created anew, renamed over cdb after fsync).  Returns 0; -1 for bad
 * input (err: "line N: reason"); -2 for a system error (err names the
 * file and says why).  Duplicate addresses are not errors: the first
 * line wins and a note per duplicate is appended to warnings
 * (NUL-terminated lines). */
int tcpd_rules_compile(int fd, const char *cdb, const char *tmp, dstr *err,
                       dstr *warnings);

#endif
