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

#include "control.h"
#include "rcptcheck.h"

int smtpd_policy_listed(const dstr *list, const char *s, size_t len)
{
    return list_has(list, s, len); /* shared: rcptcheck.c */
}

int smtpd_policy_rcpthosts(const smtpd_conf *c, const char *domain,
                           size_t len)
{
    /* shared with qmail-qmtpd: rcptcheck.c */
    return rcpthosts_match(&c->rcpthosts, domain, len);
}

int smtpd_policy_local(const smtpd_conf *c, const char *domain, size_t len)
{
    return len > 0 && smtpd_policy_listed(&c->route.locals, domain, len);
}

int smtpd_policy_badmailfrom(const smtpd_conf *c, const char *addr,
                             size_t len)
{
    /* shared with qmail-qmtpd: rcptcheck.c */
    return badmailfrom_match(&c->badmailfrom, addr, len);
}
