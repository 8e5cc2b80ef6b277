/*
 * remote_hosts.c: from a domain to a list of addresses.  See
 * remote_hosts.h.  Names taken from DNS answers were checked by
 * remote_mx (plain host names only) before they are queried or printed.
 */
#include "remote_hosts.h"

#include <string.h>
#include <sys/socket.h>

static int fail(remote_plan *p, char status, const char *a, const char *b,
                const char *c, const char *d)
{
    p->status = status;
    p->why.len = 0;
    if (dstr_cats(&p->why, a) == -1 || (b && dstr_cats(&p->why, b) == -1) ||
        (c && dstr_cats(&p->why, c) == -1) ||
        (d && dstr_cats(&p->why, d) == -1))
        return -1;
    return 0;
}

static void add_target(remote_plan *p, const char *name, const remote_ip *ip,
                       unsigned port)
{
    remote_target *t;
    size_t i;

    if (p->n >= REMOTE_TARGETS_MAX)
        return;
    /* one address behind two MX names is tried once, at the better one */
    for (i = 0; i < p->n; i++)
        if (remote_ip_equal(&p->t[i].ip, ip) && p->t[i].port == port)
            return;
    t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    if (name) {
        size_t len = strlen(name);
        if (len > REMOTE_NAME_MAX)
            len = REMOTE_NAME_MAX;
        memcpy(t->name, name, len);
        t->name[len] = 0;
    }
    t->ip = *ip;
    t->port = port;
}

/* AAAA then A of name, appended to p.  Returns a REMOTE_DNS_* status for
 * the host as a whole: OK if any address was found. */
static int host_addrs(remote_plan *p, remote_dns *dns, const char *name,
                      unsigned port, dstr *why)
{
    static const int families[2] = {AF_INET6, AF_INET};
    int status[2], i;
    size_t k;

    for (i = 0; i < 2; i++) {
        remote_ip ips[REMOTE_HOST_IPS];
        size_t n = 0;

        status[i] = remote_dns_ip(dns, name, families[i], ips,
                                  REMOTE_HOST_IPS, &n, why);
        if (status[i] == REMOTE_DNS_OK && n == 0)
            status[i] = REMOTE_DNS_NODATA;
        for (k = 0; k < n; k++)
            add_target(p, name, &ips[k], port);
    }
    if (status[0] == REMOTE_DNS_OK || status[1] == REMOTE_DNS_OK)
        return REMOTE_DNS_OK;
    if (status[0] == REMOTE_DNS_TEMP || status[1] == REMOTE_DNS_TEMP)
        return REMOTE_DNS_TEMP;
    if (status[0] == REMOTE_DNS_NXDOMAIN || status[1] == REMOTE_DNS_NXDOMAIN)
        return REMOTE_DNS_NXDOMAIN;
    return REMOTE_DNS_NODATA;
}

int remote_hosts_need_dns(const char *domain, const remote_route *rt)
{
    if (!rt->mx)
        return rt->relay.s[0] != '[';
    return domain[0] != '[';
}

static int plan_relay(remote_plan *p, const remote_route *rt, remote_dns *dns)
{
    remote_ip ip;
    dstr why = DSTR_ZERO;
    int st, r;

    if (rt->relay.s[0] == '[') {
        if (remote_ip_literal(rt->relay.s, rt->relay.len, &ip) == -1)
            return fail(p, 'Z', "control/smtproutes: bad address ",
                        rt->relay.s, " (#4.3.5)", 0);
        add_target(p, 0, &ip, rt->port);
        return 0;
    }
    st = host_addrs(p, dns, rt->relay.s, rt->port, &why);
    if (st == REMOTE_DNS_OK) {
        dstr_free(&why);
        return 0;
    }
    if (st == REMOTE_DNS_TEMP)
        r = dstr_cat0(&why) == -1
                ? -1
                : fail(p, 'Z', "Temporary DNS failure looking up relay ",
                       rt->relay.s, ": ", why.s);
    else
        r = fail(p, 'Z', "The relay in control/smtproutes, ", rt->relay.s,
                 ", has no address", 0);
    dstr_free(&why);
    if (r == 0)
        r = dstr_cats(&p->why, " (#4.4.3)");
    return r;
}

static int plan_mx(remote_plan *p, const char *domain, unsigned port,
                   remote_dns *dns, remote_rnd_fn *rnd, void *arg)
{
    remote_mx mx[REMOTE_MX_MAX];
    size_t n = 0, bad = 0, i, tried = 0;
    int st, anytemp = 0;
    dstr why = DSTR_ZERO;
    int r = 0;

    st = remote_dns_mx(dns, domain, mx, REMOTE_MX_MAX, &n, &bad, &why);
    if (st == REMOTE_DNS_TEMP) {
        r = dstr_cat0(&why) == -1
                ? -1
                : fail(p, 'Z', "Temporary DNS failure looking up the MX of ",
                       domain, ": ", why.s);
        if (r == 0)
            r = dstr_cats(&p->why, " (#4.4.3)");
        goto done;
    }
    if (st == REMOTE_DNS_NXDOMAIN) {
        r = fail(p, 'D', "Sorry, I couldn't find any host named ", domain,
                 ": the domain does not exist. (#5.1.2)", 0);
        goto done;
    }
    if (st == REMOTE_DNS_NODATA || (n == 0 && bad == 0)) {
        /* no MX: the domain itself is the mail exchanger */
        st = host_addrs(p, dns, domain, port, &why);
        if (st == REMOTE_DNS_OK)
            goto done;
        if (st == REMOTE_DNS_TEMP) {
            r = dstr_cat0(&why) == -1
                    ? -1
                    : fail(p, 'Z', "Temporary DNS failure looking up ",
                           domain, ": ", why.s);
            if (r == 0)
                r = dstr_cats(&p->why, " (#4.4.3)");
        } else {
            r = fail(p, 'D', "Sorry, I couldn't find any host named ", domain,
                     ": it has no MX, A or AAAA record. (#5.1.2)", 0);
        }
        goto done;
    }
    if (remote_mx_null(mx, n) && bad == 0) {
        r = fail(p, 'D', "Sorry, ", domain,
                 " does not accept mail: it publishes a null MX (RFC 7505)."
                 " (#5.1.10)",
                 0);
        goto done;
    }
    remote_mx_sort(mx, n, rnd, arg);
    for (i = 0; i < n && tried < REMOTE_MX_HOSTS_MAX; i++) {
        if (mx[i].name[0] == 0)
            continue; /* a root target among others: unusable */
        tried++;
        st = host_addrs(p, dns, mx[i].name, port, &why);
        if (st == REMOTE_DNS_TEMP)
            anytemp = 1;
    }
    if (p->n)
        goto done;
    if (anytemp || bad) {
        r = dstr_cat0(&why) == -1
                ? -1
                : fail(p, 'Z', "Temporary DNS failure: found no usable "
                               "address for the MX hosts of ",
                       domain, bad ? ": malformed MX records" : ": ",
                       bad ? "" : why.s);
        if (r == 0)
            r = dstr_cats(&p->why, " (#4.4.3)");
        goto done;
    }
    r = fail(p, 'D', "Sorry, none of the MX hosts of ", domain,
             " has an address. (#5.4.4)", 0);
done:
    dstr_free(&why);
    return r;
}

int remote_hosts_plan(remote_plan *p, const char *domain,
                      const remote_route *rt, remote_dns *dns,
                      remote_rnd_fn *rnd, void *arg)
{
    remote_ip ip;

    p->n = 0;
    p->status = 0;
    p->why.len = 0;
    if (!rt->mx)
        return plan_relay(p, rt, dns);
    if (domain[0] == '[') {
        if (remote_ip_literal(domain, strlen(domain), &ip) == -1)
            return fail(p, 'D', "Sorry, ", domain,
                        " is not a valid address literal. (#5.1.2)", 0);
        add_target(p, 0, &ip, rt->port);
        return 0;
    }
    return plan_mx(p, domain, rt->port, dns, rnd, arg);
}
