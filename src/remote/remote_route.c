/* remote_route.c: control/smtproutes.  See remote_route.h. */
#include "remote_route.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "control.h"
#include "num.h"
#include "remote_ip.h"

/* Characters of a relay host name (letters, digits, '-', '.', '_'). */
static int hostchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

int remote_route_parse(const char *line, dstr *domain, remote_route *rt)
{
    return remote_route_parse_port(line, REMOTE_PORT_DEFAULT, domain, rt);
}

int remote_route_parse_port(const char *line, unsigned defport, dstr *domain,
                            remote_route *rt)
{
    const char *colon = strchr(line, ':');
    const char *relay, *end;
    unsigned long long port = defport;
    remote_ip ip;
    size_t i;

    if (!colon)
        goto bad;
    if (dstr_copyb(domain, line, (size_t)(colon - line)) == -1 ||
        dstr_cat0(domain) == -1)
        return -1;
    dstr_lower(domain);
    for (i = 0; i < domain->len; i++)
        if (domain->s[i] != '.' && !hostchar(domain->s[i]) &&
            domain->s[i] != '[' && domain->s[i] != ']' &&
            domain->s[i] != ':')
            goto bad;
    relay = colon + 1;
    if (*relay == '[') {
        end = strchr(relay, ']');
        if (!end)
            goto bad;
        end++;
        if (remote_ip_literal(relay, (size_t)(end - relay), &ip) == -1)
            goto bad;
    } else {
        for (end = relay; *end && *end != ':'; end++)
            if (!hostchar(*end))
                goto bad;
        if (end - relay > 253)
            goto bad;
    }
    if (*end == ':') {
        if (num_scan_ulong_str(end + 1, &port) == -1 || port == 0 ||
            port > 65535)
            goto bad;
    } else if (*end) {
        goto bad;
    }
    if (dstr_copyb(&rt->relay, relay, (size_t)(end - relay)) == -1 ||
        dstr_cat0(&rt->relay) == -1)
        return -1;
    rt->mx = rt->relay.len == 0;
    rt->port = (unsigned)port;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* How well line's domain field matches domain: 3 exact, 2 suffix (the
 * suffix length goes to *len), 1 default, 0 not at all. */
static int match(const char *line, const char *domain, size_t *len)
{
    const char *colon = strchr(line, ':');
    size_t dlen = strlen(domain), flen;

    if (!colon)
        return 0;
    flen = (size_t)(colon - line);
    *len = flen;
    if (flen == 0)
        return 1;
    if (flen == dlen && strncasecmp(line, domain, flen) == 0)
        return 3;
    if (line[0] == '.' && flen < dlen &&
        strncasecmp(line, domain + dlen - flen, flen) == 0)
        return 2;
    return 0;
}

int remote_route_find(const dstr *list, const char *domain,
                      remote_route *rt, dstr *what)
{
    return remote_route_find_port(list, domain, REMOTE_PORT_DEFAULT, rt,
                                  what);
}

int remote_route_find_port(const dstr *list, const char *domain,
                           unsigned defport, remote_route *rt, dstr *what)
{
    const char *p, *best = 0;
    int bestkind = 0;
    size_t bestlen = 0;
    dstr field = DSTR_ZERO;
    int r;

    for (p = list_first(list); p; p = list_next(list, p)) {
        size_t len = 0;
        int kind = match(p, domain, &len);

        if (kind > bestkind || (kind == 2 && bestkind == 2 && len > bestlen)) {
            best = p;
            bestkind = kind;
            bestlen = len;
        }
    }
    if (!best) {
        rt->mx = 1;
        rt->relay.len = 0;
        rt->port = defport;
        return dstr_copys(&rt->relay, "") == -1 || dstr_cat0(&rt->relay) == -1
                   ? -1
                   : 0;
    }
    r = remote_route_parse_port(best, defport, &field, rt);
    dstr_free(&field);
    if (r == -1) {
        int saved = errno;
        if (what && dstr_copys(what, best) == -1)
            return -1;
        errno = saved;
        return -1;
    }
    return 1;
}

void remote_route_free(remote_route *rt) { dstr_free(&rt->relay); }
