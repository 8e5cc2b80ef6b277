/*
 * remote_dns.c: DNS through libunbound, with a deadline on every query.
 * See remote_dns.h.  Answers come from DNS servers we do not control; the
 * library checks the packets, we check every RDATA length and name.
 */
#include "remote_dns.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unbound.h>

#include "control.h"
#include "timeutil.h"

#define TYPE_A 1
#define TYPE_MX 15
#define TYPE_AAAA 28
#define CLASS_IN 1
#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3

struct remote_dns {
    struct ub_ctx *ctx;
    int timeout;
    int broken;    /* a query timed out: the context is not used again */
};

/* One outstanding query; on the heap because after a timeout the library
 * might still call back into it. */
struct query {
    int done;
    int err;
    struct ub_result *res;
};

static void query_done(void *arg, int err, struct ub_result *res)
{
    struct query *q = arg;
    q->done = 1;
    q->err = err;
    q->res = res;
}

remote_dns *remote_dns_new(const dstr *servers, int timeout, dstr *err)
{
    remote_dns *d = calloc(1, sizeof *d);
    const char *p;
    int r;

    if (!d) {
        dstr_copys(err, "out of memory");
        return 0;
    }
    d->timeout = timeout > 0 ? timeout : 1;
    d->ctx = ub_ctx_create();
    if (!d->ctx) {
        dstr_copys(err, "cannot create a resolver context");
        free(d);
        return 0;
    }
    ub_ctx_debugout(d->ctx, 0);
    if ((r = ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no")))
        goto ub_fail;
    /* answers come from a thread (else a forked process): both work
     * with the deadline loop of ask() */
    ub_ctx_async(d->ctx, 1);
    if (servers->len) {
        for (p = list_first(servers); p; p = list_next(servers, p)) {
            r = ub_ctx_set_fwd(d->ctx, (char *)p);
            if (r) {
                dstr_copys(err, "control/dnsservers: bad server ");
                dstr_cats(err, p);
                dstr_cats(err, ": ");
                dstr_cats(err, ub_strerror(r));
                goto fail;
            }
        }
    } else if ((r = ub_ctx_resolvconf(d->ctx, "/etc/resolv.conf"))) {
        dstr_copys(err, "/etc/resolv.conf: ");
        dstr_cats(err, ub_strerror(r));
        goto fail;
    }
    /* last: adding a zone finalizes the configuration */
    if ((r = ub_ctx_zone_add(d->ctx, "test.", "nodefault")))
        goto ub_fail;
    return d;
ub_fail:
    dstr_copys(err, "resolver setup failed: ");
    dstr_cats(err, ub_strerror(r));
fail:
    ub_ctx_delete(d->ctx);
    free(d);
    return 0;
}

void remote_dns_free(remote_dns *d)
{
    if (!d)
        return;
    ub_ctx_delete(d->ctx);
    free(d);
}

static void why_set(dstr *why, const char *a, const char *b)
{
    dstr_copys(why, a);
    if (b)
        dstr_cats(why, b);
}

/* Ask and wait.  Returns a status; on OK/NXDOMAIN/NODATA *res is set
 * (OK only with data). */
static int ask(remote_dns *d, const char *name, int type,
               struct ub_result **res, dstr *why)
{
    struct query *q;
    int64_t deadline;
    int r, id, status;

    *res = 0;
    if (d->broken) {
        why_set(why, "an earlier DNS query timed out", 0);
        return REMOTE_DNS_TEMP;
    }
    q = calloc(1, sizeof *q);
    if (!q) {
        why_set(why, "out of memory", 0);
        return REMOTE_DNS_TEMP;
    }
    r = ub_resolve_async(d->ctx, (char *)name, type, CLASS_IN, q, query_done,
                         &id);
    if (r) {
        free(q);
        why_set(why, "resolver error: ", ub_strerror(r));
        return REMOTE_DNS_TEMP;
    }
    deadline = time_mono_ms() + (int64_t)d->timeout * 1000;
    while (!q->done) {
        struct pollfd p;
        int64_t left = deadline - time_mono_ms();

        if (left <= 0) {
            /* if the cancel fails the callback may still come: leave q */
            if (ub_cancel(d->ctx, id) == 0)
                free(q);
            d->broken = 1;
            why_set(why, "DNS query timed out", 0);
            return REMOTE_DNS_TEMP;
        }
        p.fd = ub_fd(d->ctx);
        p.events = POLLIN;
        p.revents = 0;
        if (p.fd == -1) {
            r = ub_wait(d->ctx); /* should not happen: no deadline then */
            if (r)
                break;
            continue;
        }
        r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (r > 0 && (r = ub_process(d->ctx)) != 0)
            break;
    }
    if (!q->done) {
        d->broken = 1;
        free(q);
        why_set(why, "resolver error: ", ub_strerror(r));
        return REMOTE_DNS_TEMP;
    }
    if (q->err) {
        why_set(why, "resolver error: ", ub_strerror(q->err));
        if (q->res)
            ub_resolve_free(q->res);
        free(q);
        return REMOTE_DNS_TEMP;
    }
    *res = q->res;
    free(q);
    if (!*res) {
        why_set(why, "resolver error: no result", 0);
        return REMOTE_DNS_TEMP;
    }
    if ((*res)->bogus) {
        why_set(why, "DNSSEC validation failed", 0);
        status = REMOTE_DNS_TEMP;
    } else if ((*res)->rcode == RCODE_NXDOMAIN || (*res)->nxdomain) {
        status = REMOTE_DNS_NXDOMAIN;
    } else if ((*res)->rcode != RCODE_NOERROR) {
        int c = (*res)->rcode;
        const char *text = c == 2   ? "SERVFAIL"
                           : c == 5 ? "REFUSED"
                           : c == 1 ? "FORMERR"
                           : c == 4 ? "NOTIMP"
                                    : 0;
        if (text)
            why_set(why, "DNS server answered ", text);
        else if (dstr_copys(why, "DNS server answered rcode ") == 0)
            dstr_catulong(why, (unsigned long long)c);
        status = REMOTE_DNS_TEMP;
    } else if (!(*res)->havedata || !(*res)->data || !(*res)->len) {
        status = REMOTE_DNS_NODATA;
    } else {
        return REMOTE_DNS_OK;
    }
    ub_resolve_free(*res);
    *res = 0;
    return status;
}

int remote_dns_mx(remote_dns *d, const char *name, remote_mx *out,
                  size_t max, size_t *n, size_t *bad, dstr *why)
{
    struct ub_result *res;
    int status = ask(d, name, TYPE_MX, &res, why);
    size_t i;

    *n = 0;
    *bad = 0;
    if (status != REMOTE_DNS_OK)
        return status;
    for (i = 0; res->data[i] && *n < max; i++) {
        if (res->len[i] < 0 ||
            remote_mx_parse((const unsigned char *)res->data[i],
                            (size_t)res->len[i], &out[*n]) == -1)
            (*bad)++;
        else
            (*n)++;
    }
    ub_resolve_free(res);
    return REMOTE_DNS_OK;
}

int remote_dns_ip(remote_dns *d, const char *name, int family,
                  remote_ip *out, size_t max, size_t *n, dstr *why)
{
    struct ub_result *res;
    size_t want = family == AF_INET6 ? 16 : 4;
    int status = ask(d, name, family == AF_INET6 ? TYPE_AAAA : TYPE_A, &res,
                     why);
    size_t i;

    if (status != REMOTE_DNS_OK)
        return status;
    for (i = 0; res->data[i] && *n < max; i++) {
        if (res->len[i] < 0 || (size_t)res->len[i] != want)
            continue;
        memset(&out[*n], 0, sizeof out[*n]);
        out[*n].family = family;
        memcpy(out[*n].addr, res->data[i], want);
        (*n)++;
    }
    ub_resolve_free(res);
    return REMOTE_DNS_OK;
}
