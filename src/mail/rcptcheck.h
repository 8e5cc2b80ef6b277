/*
 * rcptcheck: the sender rule (badmailfrom), the relay rule and the
 * recipient check shared by the servers
 * that take mail from the network (qmail-smtpd at RCPT, qmail-qmtpd per
 * recipient), so that they can never disagree.
 *
 *   rcpthosts          a domain (matched whole) or ".suffix" (matches any
 *                      domain that ends with it, not the suffix itself)
 *   morercpthosts.cdb  keys: a domain, or ".suffix" for every suffix of it
 *                      that starts at a dot
 *
 * The local-recipient check routes the address as qmail-send will
 * (route.h: percenthack, locals, virtualdomains) and, when it is local,
 * asks mailuser (the lookup qmail-lspawn delivers with) whether it exists.
 *
 * Addresses come from the network; lookups copy them into bounded
 * buffers and a longer one matches nothing.  All matches ignore ASCII case.
 */
#ifndef RCPTCHECK_H
#define RCPTCHECK_H

#include <stddef.h>

#include "dstr.h"
#include "route.h"

#define RCPTCHECK_MORERCPTHOSTS "control/morercpthosts.cdb"

/* 1 if domain (len bytes) may receive mail through us: listed in list
 * (control/rcpthosts as control_readlist gives it, lower-cased) or in
 * morercpthosts.cdb; 0 if not; -1 if the cdb could not be read (errno). */
int rcpthosts_match(const dstr *list, const char *domain, size_t len);

/* 1 if s (len bytes) is an entry of list (NUL-separated, as
 * control_readlist gives it), ignoring ASCII case. */
int list_has(const dstr *list, const char *s, size_t len);

/* 1 if the sender addr (len bytes) is refused by list (control/badmailfrom,
 * lower-cased): listed whole, or its "@domain" is.  The null sender never
 * is. */
int badmailfrom_match(const dstr *list, const char *addr, size_t len);

enum {
    RCPTCHECK_OK = 0,      /* not local, or a local address that exists (or
                              that we cannot judge: delivery decides) */
    RCPTCHECK_UNKNOWN = 1, /* local, and nobody takes it: refuse for good */
    RCPTCHECK_TEMP = 2     /* the lookup failed: refuse for now */
};

/* Check the recipient addr (NUL-terminated, local@domain).  "postmaster"
 * (any case, any domain) is always OK.  Returns an RCPTCHECK_ value with a
 * reason for the log in why (for UNKNOWN and TEMP), or -1 when out of
 * memory. */
int rcptcheck_local(const route_conf *rc, const char *addr, char *why,
                    size_t whysize);

#endif
