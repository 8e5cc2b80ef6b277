/*
 * remote_hosts: which addresses to try, in which order, for a domain.
 *
 *   smtproutes relay "[address]"      that address
 *   smtproutes relay host name        its AAAA then A addresses (never
 *                                     its MX); no address: temporary
 *   domain "[address]"                that address
 *   otherwise                         the domain's MX hosts by preference
 *                                     (random among equals), each with
 *                                     its AAAA then A addresses; no MX:
 *                                     the domain's own AAAA and A
 *                                     (RFC 5321 5.1)
 *
 * Failures decided here, before any connection (status and record text):
 *   NXDOMAIN for the domain, or neither MX nor address     D (#5.1.2)
 *   a null MX (RFC 7505)                                   D (#5.1.10)
 *   MX hosts that all do not exist or have no address      D (#5.4.4)
 *   a temporary DNS failure that leaves nothing to try     Z (#4.4.3)
 * An MX host whose look-up fails is skipped as long as another one can
 * be tried.  An address reached through two MX names is tried once.
 *
 * Limits: REMOTE_MX_MAX records read from an MX answer, the first
 * REMOTE_MX_HOSTS_MAX hosts looked up, REMOTE_HOST_IPS addresses per host
 * and family, REMOTE_TARGETS_MAX addresses in all.
 */
#ifndef REMOTE_HOSTS_H
#define REMOTE_HOSTS_H

#include <stddef.h>

#include "dstr.h"
#include "remote_dns.h"
#include "remote_ip.h"
#include "remote_mx.h"
#include "remote_route.h"

#define REMOTE_MX_MAX 64
#define REMOTE_MX_HOSTS_MAX 16
#define REMOTE_HOST_IPS 16
#define REMOTE_TARGETS_MAX 64

typedef struct remote_target {
    char name[REMOTE_NAME_MAX + 1]; /* host name, "" for an address literal */
    remote_ip ip;
    unsigned port;
} remote_target;

typedef struct remote_plan {
    remote_target t[REMOTE_TARGETS_MAX];
    size_t n;
    char status;    /* 0: try t[0..n); 'Z' or 'D': failed, see why */
    dstr why;
} remote_plan;

typedef unsigned remote_rnd_fn(void *arg, unsigned bound);

/* 1 if delivering to domain over rt needs DNS at all. */
int remote_hosts_need_dns(const char *domain, const remote_route *rt);
/* Fill p for domain (lower case, valid) over rt.  dns may be NULL when
 * remote_hosts_need_dns said no.  Returns 0, or -1 when out of memory. */
int remote_hosts_plan(remote_plan *p, const char *domain,
                      const remote_route *rt, remote_dns *dns,
                      remote_rnd_fn *rnd, void *arg);

#endif
