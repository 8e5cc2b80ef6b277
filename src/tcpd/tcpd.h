/*
 * tcpd: the modules of qmail-tcpd, the TCP listener that runs one server
 * process per connection with the ucspi-tcp environment.
 *
 *   tcpd_conf.c    the command line
 *   tcpd_listen.c  the listening socket
 *   tcpd_priv.c    dropping root after bind
 *   tcpd_server.c  the accept loop: rules, limits, fork, reaping, logging
 *   tcpd_child.c   a child: descriptors, environment, exec
 *   tcpd_worker.c  reused servers (-R): the pool of workers
 *   tcpd_dns.c     the optional reverse lookup (-h)
 *   tcpd_addr.c, tcpd_rules*.c, tcpd_table.c: see their headers
 *
 * Exit codes: 0 after SIGTERM/SIGINT, 100 for a bad command line, 111
 * when it cannot start (address in use, unreadable rules, ...).
 */
#ifndef TCPD_H
#define TCPD_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
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
#define TCPD_REUSE_MAX 100000   /* -R */

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
    size_t reuse;           /* -R: sessions per server process (1: fresh) */
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
/* 1 for the variables tcpd_child_env removes from every server's
 * environment (TCPLOCALHOST, TCPREMOTEHOST, TCPREMOTEINFO; it may set
 * them again for a connection). */
int tcpd_child_env_removes(const char *name);
/* Raise our soft descriptor limit to need if it is lower (up to the hard
 * limit); servers get the original back before exec.  Returns the limit
 * now in force (at least need when it could be raised). */
size_t tcpd_fd_room(size_t need);
/* In the forked child: set up descriptors and environment, exec the
 * program.  Never returns. */
_Noreturn void tcpd_child_run(const tcpd_conf *c, tcpd_session *s);

/* In the forked child: become a worker (tcpd_worker.c) serving s first,
 * as tcpd_child_run does, with ctl, its end of the socket pair, as
 * descriptor 3 and TCPD_WORKER_ENV set.  Never returns. */
_Noreturn void tcpd_child_worker(const tcpd_conf *c, tcpd_session *s,
                                 int ctl);

/* ---- reused servers (tcpd_worker.c) ----------------------------------
 * The protocol, which qmail-smtpd's smtpd_worker.h repeats for the
 * program's side: the worker finds TCPD_WORKER_ENV=3 in its environment
 * and its first connection on 0 and 1; it receives a "B" message (what
 * its environment has beyond the listener's), then one SOCK_SEQPACKET
 * message per later connection (the descriptor as SCM_RIGHTS, the
 * record "C" NAME=VALUE "\0"...), and answers TCPD_WORKER_DONE after
 * each session. */
#define TCPD_WORKER_ENV "QMAIL_TCPD_WORKER"
#define TCPD_WORKER_FD 3
#define TCPD_WORKER_REC_MAX (96 * 1024)
#define TCPD_WORKER_DONE 'D'
/* idle workers kept: half as many as are busy (connections come in
 * bursts, and a worker let go now must be started again a moment later),
 * at least TCPD_IDLE_MIN; each is let go after TCPD_IDLE_MS unused */
#define TCPD_IDLE_MIN 4
#define TCPD_IDLE_MS 10000

enum { TCPD_W_BUSY = 1, TCPD_W_IDLE, TCPD_W_LEAVING };

typedef struct tcpd_worker {
    pid_t pid;
    int fd;                 /* our end, -1 once closed */
    int state;              /* TCPD_W_... */
    unsigned long served;   /* connections handed to it */
    unsigned gen;           /* tcpd_pool_retire_all lets older ones go */
    int64_t since_ms;       /* busy or idle since (monotonic) */
} tcpd_worker;

typedef struct tcpd_pool {
    const tcpd_conf *conf;
    tcpd_worker *w;         /* live workers: busy, idle, or leaving */
    size_t n, cap, idle;
    unsigned gen;
    dstr rec;               /* scratch: the record being sent */
    dstr base;              /* scratch: a new worker's "B" message */
} tcpd_pool;

void tcpd_pool_init(tcpd_pool *p, const tcpd_conf *c);
/* 1 if session s may go to a worker: -R above 1, no -h (the lookup runs
 * in a fresh child), and no rule variable named QMAIL... or LD_... (read
 * when a process starts: the sandbox switch and self-test, $QMAILQUEUE,
 * the dynamic linker), which only a fresh process can apply. */
int tcpd_pool_eligible(const tcpd_conf *c, const tcpd_session *s);
/* Hand s to an idle worker or a new one; s->fd is closed in any case.
 * Returns the worker's pid (*nth: its how-many-th session this is), or
 * -1 with errno when the connection was dropped. */
pid_t tcpd_pool_hand(tcpd_pool *p, tcpd_session *s, unsigned long *nth);
/* Poll entries for the workers' sockets, with their pids. */
size_t tcpd_pool_pollfds(const tcpd_pool *p, struct pollfd *pf, pid_t *pids,
                         size_t max);
/* The socket of worker pid is readable: 1 when it finished a session
 * (the caller ends that session), else 0. */
int tcpd_pool_input(tcpd_pool *p, pid_t pid);
/* A child was reaped: 1 if it was a worker (then forgotten; *was_busy
 * says it held a session), 0 if not. */
int tcpd_pool_reaped(tcpd_pool *p, pid_t pid, int *was_busy,
                     unsigned long *served);
/* Let go of workers idle too long; milliseconds until the next one
 * would be, or -1. */
int tcpd_pool_expire(tcpd_pool *p, int64_t now_ms);
/* SIGHUP: every worker goes after its current session. */
void tcpd_pool_retire_all(tcpd_pool *p);
/* Before a fresh process: let idle workers go so that busy sessions plus
 * idle workers stay within -c. */
void tcpd_pool_make_room(tcpd_pool *p, size_t busy);

/* Reverse lookup of a, confirmed by a forward lookup of the name found
 * (so a client cannot claim any name through its own PTR record).
 * Returns 1 with the name (lower case) in name, 0 if there is none. */
int tcpd_dns_remote_host(const tcpd_addr *a, unsigned timeout, dstr *name);

/* The accept loop; returns the exit code (0 after SIGTERM). */
int tcpd_serve(const tcpd_conf *c, int listenfd);

#endif
