/*
 * remote_dns: the DNS look-ups of qmail-remote, through libunbound.
 *
 * The resolver is given by control/dnsservers (one ADDRESS or
 * ADDRESS@PORT per line; the servers are asked in turn as forwarders)
 * or, when that file is missing, by the name servers of /etc/resolv.conf.
 * Localhost servers are allowed, and unbound's built-in refusal of the
 * reserved "test." zone is switched off so test zones can be served.  No
 * DNSSEC validation is asked for (no trust anchor is configured).
 *
 * Every query has a deadline (timeout seconds); a query that misses it,
 * SERVFAIL, REFUSED or any other error is REMOTE_DNS_TEMP.  After one
 * timeout the context is not used again: later queries fail at once as
 * temporary too.  Answer sizes are bounded by the caller's arrays.
 */
#ifndef REMOTE_DNS_H
#define REMOTE_DNS_H

#include <stddef.h>

#include "dstr.h"
#include "remote_ip.h"
#include "remote_mx.h"

enum {
    REMOTE_DNS_OK = 0,        /* data found */
    REMOTE_DNS_NXDOMAIN = 1,  /* the name does not exist */
    REMOTE_DNS_NODATA = 2,    /* the name exists, without such records */
    REMOTE_DNS_TEMP = 3       /* could not find out now */
};

typedef struct remote_dns remote_dns;

/* servers: NUL-separated list (control_readlist), empty for resolv.conf.
 * Returns NULL with a reason in err on failure. */
remote_dns *remote_dns_new(const dstr *servers, int timeout, dstr *err);
void remote_dns_free(remote_dns *d);

/* MX records of name: up to max into out, *n set.  Records whose RDATA
 * is malformed or names a non-host are left out (*bad counts them).
 * Returns a REMOTE_DNS_* status; on REMOTE_DNS_TEMP, why says why. */
int remote_dns_mx(remote_dns *d, const char *name, remote_mx *out,
                  size_t max, size_t *n, size_t *bad, dstr *why);
/* Addresses of name for family (AF_INET6: AAAA, AF_INET: A), appended to
 * out[*n..max). */
int remote_dns_ip(remote_dns *d, const char *name, int family,
                  remote_ip *out, size_t max, size_t *n, dstr *why);

#endif
