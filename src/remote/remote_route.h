/*
 * remote_route: control/smtproutes, qmail's static routes for remote mail.
 *
 * One route per line (control_readlist: blank lines and '#' lines are
 * skipped, trailing white space removed):
 *
 *   domain:relay          send mail for domain to relay, port 25
 *   domain:relay:port     ... on that port
 *   domain:               no relay: look up domain's MX as usual
 *   domain::port          MX look-up, but connect to that port
 *
 * relay is a host name (its A/AAAA records are used, never its MX) or an
 * address literal in brackets ("[192.0.2.1]", "[IPv6:2001:db8::1]").
 * domain is matched case-insensitively: an exact line wins; otherwise a
 * line ".suffix" whose suffix ends the domain ("example.com" is not matched
 * by ".example.com"), the longest such; otherwise a line with an empty
 * domain (":relay" is the default route).  Among equal lines the first
 * wins.  A malformed line is an error only when it is the one that
 * matches: the administrator must fix it, and mail waits (temporary).
 *
 * control/qmtproutes has the same syntax and matching, with port 209 by
 * default (remote_qmtp.h).
 *
 * Trust: control files are configuration, but still parsed strictly.
 */
#ifndef REMOTE_ROUTE_H
#define REMOTE_ROUTE_H

#include "dstr.h"

#define REMOTE_PORT_DEFAULT 25

typedef struct remote_route {
    int mx;          /* 1: deliver to the domain's MX; 0: to relay */
    dstr relay;      /* NUL-terminated; empty when mx */
    unsigned port;
} remote_route;

/* Parse one line.  domain gets the (lower-cased, NUL-terminated) domain
 * field.  Returns 0, or -1 with EINVAL for a malformed line. */
int remote_route_parse(const char *line, dstr *domain, remote_route *rt);
/* The route for domain (lower-case) given the lines of smtproutes in list
 * (control_readlist's format).  Returns 1 when a line matched (rt set),
 * 0 when none did (rt: MX, port 25), -1 with EINVAL when the matching line
 * is malformed (what holds its text), or ENOMEM. */
int remote_route_find(const dstr *list, const char *domain,
                      remote_route *rt, dstr *what);
/* The same with another default port (control/qmtproutes: 209). */
int remote_route_parse_port(const char *line, unsigned defport, dstr *domain,
                            remote_route *rt);
int remote_route_find_port(const dstr *list, const char *domain,
                           unsigned defport, remote_route *rt, dstr *what);
void remote_route_free(remote_route *rt);

#endif
