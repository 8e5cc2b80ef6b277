/*
 * smtpd_conf: qmail-smtpd's configuration, read once per connection from
 * the control files in $QMAILHOME/control and from the environment set by
 * the listener (tcpserver or qmail-tcpd, possibly per client through
 * access rules).  qmail-smtpd(8) documents every setting.
 *
 * Trusts: control files (the administrator's) and the environment (the
 * listener's), but still bounds every value it keeps.
 */
#ifndef SMTPD_CONF_H
#define SMTPD_CONF_H

#include "dstr.h"
#include "route.h"

#define SMTPD_TIMEOUT_DEFAULT 1200
#define SMTPD_SESSION_DEFAULT 3600
#define SMTPD_MAXRCPT_DEFAULT 100
#define SMTPD_MAXERRORS_DEFAULT 20
#define SMTPD_GREETDELAY_DEFAULT 1
#define SMTPD_RELAYCLIENT_MAX 255

typedef struct smtpd_conf {
    dstr me;                    /* NUL-terminated, like every dstr here */
    dstr greeting;
    dstr localiphost;
    dstr badmailfrom;           /* NUL-separated list, lower case */
    dstr rcpthosts;             /* NUL-separated list, lower case */
    int rcpthosts_missing;      /* control/rcpthosts does not exist */
    route_conf route;           /* locals, virtualdomains, percenthack:
                                   the routing qmail-send uses */
    unsigned long long databytes; /* 0: no limit */
    int timeout;                /* seconds, >= 1 */
    int session_timeout;        /* seconds, 0: none */
    int greetdelay;             /* seconds, 0: no early-talker check */
    unsigned long maxrcpt;
    unsigned long maxerrors;
    int rcptcheck;              /* refuse unknown local recipients */
    int system_users;           /* mailuser also knows system accounts */
    int relayclient;            /* $RELAYCLIENT is set */
    dstr relayclient_value;
    const char *remoteip;       /* from the environment, or "" */
    const char *remotehost;
    const char *localip;
    const char *localhost;
} smtpd_conf;

/* Read everything.  Returns 0, or -1 with a description (naming the file)
 * in err, NUL-terminated. */
int smtpd_conf_load(smtpd_conf *c, dstr *err);
void smtpd_conf_free(smtpd_conf *c);

#endif
