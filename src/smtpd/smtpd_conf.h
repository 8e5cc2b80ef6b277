/*
 * smtpd_conf: qmail-smtpd's configuration, from the control files in
 * $QMAILHOME/control and from the environment set by the listener
 * (tcpserver or qmail-tcpd, possibly per client through access rules).
 * qmail-smtpd(8) documents every setting.
 *
 * A fresh qmail-smtpd reads both once.  A reused one (worker mode,
 * smtpd_worker.h) reads the files once, takes the per-connection part
 * from each connection's environment again (smtpd_conf_env), and reads
 * the files again when smtpd_conf_changed says one of them changed.
 *
 * Trusts: control files (the administrator's) and the environment (the
 * listener's), but still bounds every value it keeps.
 */
#ifndef SMTPD_CONF_H
#define SMTPD_CONF_H

#include <sys/types.h>
#include <time.h>

#include "dstr.h"
#include "route.h"

#define SMTPD_TIMEOUT_DEFAULT 1200
#define SMTPD_SESSION_DEFAULT 3600
#define SMTPD_MAXRCPT_DEFAULT 100
#define SMTPD_MAXERRORS_DEFAULT 20
#define SMTPD_GREETDELAY_DEFAULT 1
#define SMTPD_RELAYCLIENT_MAX 255

#define SMTPD_CONF_FILES 15     /* control files read by smtpd_conf_load */

/* What a control file looked like when it was read. */
typedef struct smtpd_conf_stamp {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} smtpd_conf_stamp;

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
    /* the control files' values, before the environment overrides them */
    unsigned long long databytes_file;
    int greetdelay_file;
    smtpd_conf_stamp stamp[SMTPD_CONF_FILES];
} smtpd_conf;

/* Read everything.  Returns 0, or -1 with a description (naming the file)
 * in err, NUL-terminated. */
int smtpd_conf_load(smtpd_conf *c, dstr *err);
/* Only the part that comes from the environment (RELAYCLIENT, DATABYTES,
 * GREETDELAY, TCPREMOTEIP, ...), again: after the environment changed.
 * Everything from a previous environment is forgotten first.  Returns 0
 * or -1 with err set. */
int smtpd_conf_env(smtpd_conf *c, dstr *err);
/* 1 if a control file read by smtpd_conf_load changed since (created,
 * removed, replaced or written), else 0. */
int smtpd_conf_changed(const smtpd_conf *c);
void smtpd_conf_free(smtpd_conf *c);

#endif
