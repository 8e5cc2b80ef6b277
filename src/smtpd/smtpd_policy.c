/*
 * smtpd_policy.c: badmailfrom, rcpthosts, morercpthosts.cdb and locals.
 * See smtpd_policy.h.
 *
 * Addresses and domains come from the network, already checked by
 * smtpd_addr (printable ASCII, bounded).  Lookups copy them, lower-cased,
 * into fixed buffers; a longer one simply matches nothing.
 */
#include "smtpd_policy.h"

#include <string.h>
#include <strings.h>

#include "cdbmap.h"
#include "control.h"

#define KEY_MAX 1024

/* Lower-case copy of s into buf; 0, or -1 if it does not fit. */
static int lower(char *buf, const char *s, size_t len)
{
    size_t i;

    if (len >= KEY_MAX)
        return -1;
    for (i = 0; i < len; i++) {
        char ch = s[i];
        buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    buf[len] = 0;
    return 0;
}

int smtpd_policy_listed(const dstr *list, const char *s, size_t len)
{
    const char *p;

    for (p = list_first(list); p; p = list_next(list, p))
        if (strlen(p) == len && strncasecmp(p, s, len) == 0)
            return 1;
    return 0;
}

int smtpd_policy_rcpthosts(const smtpd_conf *c, const char *domain,
                           size_t len)
{
    char key[KEY_MAX];
    dstr value = DSTR_ZERO;
    const char *p;
    size_t i;
    int r;

    if (len == 0 || lower(key, domain, len) == -1)
        return 0;
    for (p = list_first(&c->rcpthosts); p; p = list_next(&c->rcpthosts, p)) {
        size_t plen = strlen(p);
        if (plen == len && memcmp(p, key, len) == 0)
            return 1;
        if (p[0] == '.' && plen < len && memcmp(p, key + len - plen, plen) == 0)
            return 1;
    }
    for (i = 0; i < len; i++) {
        if (i > 0 && key[i] != '.')
            continue;
        r = cdbmap_lookup(SMTPD_MORERCPTHOSTS, key + i, len - i, &value);
        if (r != 0) {
            dstr_free(&value);
            return r;
        }
    }
    dstr_free(&value);
    return 0;
}

int smtpd_policy_local(const smtpd_conf *c, const char *domain, size_t len)
{
    return len > 0 && smtpd_policy_listed(&c->route.locals, domain, len);
}

int smtpd_policy_badmailfrom(const smtpd_conf *c, const char *addr,
                             size_t len)
{
    const char *at;

    if (len == 0)
        return 0; /* the null sender is never refused here */
    if (smtpd_policy_listed(&c->badmailfrom, addr, len))
        return 1;
    at = memrchr(addr, '@', len);
    return at && smtpd_policy_listed(&c->badmailfrom, at,
                                     len - (size_t)(at - addr));
}
