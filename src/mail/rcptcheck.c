/*
 * rcptcheck.c: badmailfrom, rcpthosts, morercpthosts.cdb and the
 * local-recipient check.
 * See rcptcheck.h.
 */
#include "rcptcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cdbmap.h"
#include "control.h"
#include "mailuser.h"

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

int list_has(const dstr *list, const char *s, size_t len)
{
    const char *p;

    for (p = list_first(list); p; p = list_next(list, p))
        if (strlen(p) == len && strncasecmp(p, s, len) == 0)
            return 1;
    return 0;
}

int badmailfrom_match(const dstr *list, const char *addr, size_t len)
{
    const char *at;

    if (len == 0)
        return 0; /* the null sender is never refused here */
    if (list_has(list, addr, len))
        return 1;
    at = memrchr(addr, '@', len);
    return at && list_has(list, at, len - (size_t)(at - addr));
}

int rcpthosts_match(const dstr *list, const char *domain, size_t len)
{
    char key[KEY_MAX];
    dstr value = DSTR_ZERO;
    const char *p;
    size_t i;
    int r;

    if (len == 0 || lower(key, domain, len) == -1)
        return 0;
    for (p = list_first(list); p; p = list_next(list, p)) {
        size_t plen = strlen(p);
        if (plen == len && memcmp(p, key, len) == 0)
            return 1;
        if (p[0] == '.' && plen < len && memcmp(p, key + len - plen, plen) == 0)
            return 1;
    }
    for (i = 0; i < len; i++) {
        if (i > 0 && key[i] != '.')
            continue;
        r = cdbmap_lookup(RCPTCHECK_MORERCPTHOSTS, key + i, len - i, &value);
        if (r != 0) {
            dstr_free(&value);
            return r;
        }
    }
    dstr_free(&value);
    return 0;
}

/* The check for an address routed to local delivery. */
static int check_local(const char *addr, char *why, size_t whysize)
{
    struct mailuser u;
    char reason[512];

    if (mailuser_find(addr, &u, reason, sizeof reason) == 0) {
        /* the user exists; does it take this address (extension, alias)?
         * -1 means we cannot tell (a home we may not read): accept, and
         * let delivery decide, rather than refuse mail that may exist */
        if (mailuser_deliverable(&u) != 0)
            return RCPTCHECK_OK;
        snprintf(why, whysize, "no .qmail file for it (user %s)", u.user);
        return RCPTCHECK_UNKNOWN;
    }
    if (reason[0] == '!') {
        snprintf(why, whysize, "unknown local user (%s)", reason + 1);
        return RCPTCHECK_UNKNOWN;
    }
    snprintf(why, whysize, "recipient lookup failed: %s", reason);
    return RCPTCHECK_TEMP;
}

int rcptcheck_local(const route_conf *rc, const char *addr, char *why,
                    size_t whysize)
{
    const char *at = strrchr(addr, '@');
    size_t locallen = at ? (size_t)(at - addr) : strlen(addr);
    char *rt = 0;
    char where;
    int r;

    if (whysize)
        why[0] = 0;
    if (locallen == 10 && strncasecmp(addr, "postmaster", 10) == 0)
        return RCPTCHECK_OK;
    /* local (after percenthack and virtualdomains, as qmail-send will
     * route it)?  Then the recipient must exist. */
    where = route_classify(rc, addr, &rt);
    if (!where)
        return -1;
    r = where == 'L' ? check_local(rt ? rt : addr, why, whysize)
                     : RCPTCHECK_OK;
    free(rt);
    return r;
}
