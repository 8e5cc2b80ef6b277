/*
 * smtpd_policy: which senders and recipient domains qmail-smtpd accepts,
 * with qmail's file semantics:
 *
 *   badmailfrom        an address (matched whole) or "@domain"
 *   rcpthosts          a domain (matched whole) or ".suffix" (matches any
 *                      domain that ends with it, not the suffix itself)
 *   morercpthosts.cdb  keys: a domain, or ".suffix" for every suffix of it
 *                      that starts at a dot
 *   locals             a domain (matched whole)
 *
 * All matches ignore ASCII case.  Called by smtpd_mail.c.
 */
#ifndef SMTPD_POLICY_H
#define SMTPD_POLICY_H

#include <stddef.h>

#include "smtpd_conf.h"

#define SMTPD_MORERCPTHOSTS "control/morercpthosts.cdb"

/* 1 if domain may receive mail through us, 0 if not, -1 if
 * morercpthosts.cdb could not be read (errno set). */
int smtpd_policy_rcpthosts(const smtpd_conf *c, const char *domain,
                           size_t len);
/* 1 if domain is one of control/locals. */
int smtpd_policy_local(const smtpd_conf *c, const char *domain, size_t len);
/* 1 if the sender address is listed in badmailfrom. */
int smtpd_policy_badmailfrom(const smtpd_conf *c, const char *addr,
                             size_t len);
/* 1 if a list entry matches s exactly (ignoring case). */
int smtpd_policy_listed(const dstr *list, const char *s, size_t len);

#endif
