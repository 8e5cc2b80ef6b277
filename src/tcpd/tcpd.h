/*
 * tcpd: the modules of qmail-tcpd, the TCP listener that runs one server
 * process per connection with the ucspi-tcp environment.
 *
 *   tcpd_conf.c    the command line
 *   tcpd_listen.c  the listening socket
 *   tcpd_priv.c    dropping root after bind
 *   tcpd_server.c  the accept loop: rules, limits, fork, reaping, logging
 *   tcpd_child.c   a child: descriptors, environment, exec
 *   tcpd_dns.c     the optional reverse lookup (-h)
 *   tcpd_addr.c, tcpd_rules*.c, tcpd_table.c: see their headers
 *
 * Exit codes: 0 after SIGTERM/SIGINT, 100 for a bad command line, 111
 * when it cannot start (address in use, unreadable rules, ...).
 */
#ifndef TCPD_H
#define TCPD_H

#include <stddef.h>
#include <sys/types.h>

#include "dstr.h"
#include "env.h"
#include "tcpd_addr.h"
#include "tcpd_rules.h"

#define TCPD_EXIT_USAGE 100
#define TCPD_EXIT_FAIL 111

#define TCPD_DEFAULT_MAXCONN 100
#define TCPD_DEFAULT_MAXPERIP 20
#define TCPD_DEFAULT_BACKLOG 256
#define TCPD_DEFAULT_DNS_TIMEOUT 5
#define TCPD_MSG_MAX 200        /* bytes of -m */
#define TCPD_NAME_MAX 255       /* bytes of -l, and of a looked-up name */

typedef struct tcpd_conf {
    const char *addr;       /* as given ("0" is 0.0.0.0) */
    unsigned port;
    char **argv;            /* the program and its arguments */
    size_t maxconn;         /* -c */
    size_t maxperip;        /* -C */
    const char *rules;      /* -x FILE, or NULL */
    int set_uid, set_gid;
    uid_t uid;              /* -u */
    gid_t gid;              /* -g */
    int backlog;            /* -b */
    const char *localhost;  /* -l, or NULL */
    int dns;                /* -h: look up TCPREMOTEHOST */
    unsigned dns_timeout;   /* -t seconds */
    const char *busy_msg;   /* -m, or NULL */
    int verbosity;          /* 0 (-q), 1, 2 (-v) */
} tcpd_conf;

/* Parse argv; reports a bad argument on stderr and returns -1. */
int tcpd_conf_parse(int argc, char **argv, tcpd_conf *c);
void tcpd_usage(void);

/* Socket bound to addr:port (not yet listening), O_CLOEXEC and
 * non-blocking, SO_REUSEADDR, IPV6_V6ONLY for IPv6.  Returns the
 * descriptor, or -1 with a reason in why. */
int tcpd_listen_bind(const char *addr, unsigned port, dstr *why);

/* setgroups, setgid, setuid, each checked, then make sure root cannot be
 * regained.  Returns 0, or -1 with a reason in why. */
int tcpd_priv_drop(uid_t uid, gid_t gid, dstr *why);

/* One accepted connection, as the child needs it. */
typedef struct tcpd_session {
    int fd;
    tcpd_addr local, remote;
    unsigned local_port, remote_port;
    char local_ip[TCPD_ADDR_STRMAX], remote_ip[TCPD_ADDR_STRMAX];
    tcpd_verdict verdict;   /* vars from the matching rule */
} tcpd_session;

/* The environment of the server for session s, built on e (which holds
 * the inherited environment): PROTO, TCPLOCALIP, TCPLOCALPORT,
 * TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALHOST (localhost, else removed),
 * TCPREMOTEHOST (remotehost, else removed), TCPREMOTEINFO removed, then
 * the rule's variables.  Returns 0 or -1 (errno). */
int tcpd_child_env(envbuild *e, const tcpd_session *s, const char *localhost,
                   const char *remotehost);
/* In the forked child: set up descriptors and environment, exec the
 * program.  Never returns. */
_Noreturn void tcpd_child_run(const tcpd_conf *c, tcpd_session *s);

/* Reverse lookup of a, confirmed by a forward lookup of the name found
 * (so a client cannot claim any name through its own PTR record).
 * Returns 1 with the name (lower case) in name, 0 if there is none. */
int tcpd_dns_remote_host(const tcpd_addr *a, unsigned timeout, dstr *name);

/* The accept loop; returns the exit code (0 after SIGTERM). */
int tcpd_serve(const tcpd_conf *c, int listenfd);

#endif
