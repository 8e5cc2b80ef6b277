/*
 * qmtpd_conf: the configuration of qmail-qmtpd and qmail-qmqpd, read once
 * per connection from $QMAILHOME/control and from the environment the
 * listener set (qmail-tcpd or tcpserver, possibly per client through
 * access rules).  qmail-qmtpd(8) and qmail-qmqpd(8) document every
 * setting; the files and their meaning are qmail-smtpd's, so one setting
 * governs all three servers.
 *
 * Trusts: control files (the administrator's) and the environment (the
 * listener's), but still bounds every value it keeps.
 */
#ifndef QMTPD_CONF_H
#define QMTPD_CONF_H

#include "dstr.h"
#include "route.h"

#define QMTPD_TIMEOUT_DEFAULT 1200   /* control/timeoutsmtpd */
#define QMTPD_SESSION_DEFAULT 3600   /* control/timeoutsmtpdsession: the
                                        protocols' "at most 1 hour" */
#define QMTPD_MAXRCPT_DEFAULT 100    /* control/maxrcpt (QMTP only) */
#define QMTPD_RELAYCLIENT_MAX 255

typedef struct qmtpd_conf {
    dstr me;                    /* NUL-terminated */
    dstr badmailfrom;           /* NUL-separated list, lower case */
    dstr rcpthosts;             /* NUL-separated list, lower case */
    int rcpthosts_missing;
    route_conf route;           /* locals, virtualdomains, percenthack */
    unsigned long long databytes; /* 0: no limit */
    int timeout;                /* seconds per read or write, >= 1 */
    int session_timeout;        /* seconds for the connection, 0: none */
    unsigned long maxrcpt;
    int rcptcheck;              /* refuse unknown local recipients */
    int system_users;
    int relayclient;            /* $RELAYCLIENT is set */
    dstr relayclient_value;     /* NUL-terminated */
    const char *remoteip;       /* from the environment, or "" */
    const char *remotehost;
    const char *localip;
} qmtpd_conf;

/* Read everything.  Returns 0, or -1 with a description (naming the file)
 * in err, NUL-terminated. */
int qmtpd_conf_load(qmtpd_conf *c, dstr *err);
void qmtpd_conf_free(qmtpd_conf *c);

#endif
