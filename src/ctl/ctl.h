/*
 * ctl: the modules of qmailctl, the administrator's tool that creates an
 * instance, adds its users and starts, stops and inspects its services.
 *
 * qmailctl.c only parses the command line and calls one ctl_cmd_* function;
 * each returns the process exit status.  Errors are reported by the
 * function that meets them, as one line on stderr (log.h) naming the file,
 * port or user concerned.
 *
 * Exit statuses: CTL_OK, CTL_FAIL for any failure, CTL_USAGE for a bad
 * command line; `status` also returns CTL_STOPPED and CTL_UNKNOWN (LSB).
 *
 * Trust: the administrator's arguments are validated (names, ports,
 * addresses) before anything is written.  Files in the instance are
 * trusted as written by qmailctl itself, but read with bounds.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <sys/types.h>

#include "dstr.h"

#define CTL_OK 0
#define CTL_FAIL 1
#define CTL_USAGE 2
#define CTL_STOPPED 3 /* status: some service is not running (LSB) */
#define CTL_UNKNOWN 4 /* status: cannot tell (LSB), e.g. not an instance */

/* ---- command line (qmailctl.c, ctl_args.c) ----------------------------- */

/* A parsed command line: positional arguments and --name[=]value options. */
#define CTL_ARGS_MAX 8
typedef struct ctl_opt {
    const char *name;   /* without the leading "--" */
    const char *value;  /* NULL until given ("1" for a given flag) */
    int flag;           /* takes no value */
} ctl_opt;

typedef struct ctl_args {
    const char *pos[CTL_ARGS_MAX];
    int npos;
} ctl_args;

/* Parse argv (after the command word) against opts, a table ending with a
 * NULL name; every option takes a value, except flags.  Reports a bad argument on stderr
 * and returns -1. */
int ctl_args_parse(int argc, char **argv, ctl_opt *opts, ctl_args *out);
const char *ctl_opt_get(const ctl_opt *opts, const char *name);

/* ---- the instance directory (ctl_instance.c) --------------------------- */

typedef struct ctl_instance {
    dstr root;  /* absolute path, NUL-terminated, no trailing slash */
} ctl_instance;

/* Resolve dir (as given by the user) to an absolute path, requiring an
 * existing instance (control/me present).  Reports on stderr, returns -1. */
int ctl_instance_open(ctl_instance *in, const char *dir);
/* Absolute path of the instance's directory arg, which need not exist (its
 * parent directories need not exist either). */
int ctl_abspath(dstr *out, const char *dir);
/* root + "/" + rel into out, NUL-terminated; returns out->s (never NULL:
 * dies on memory exhaustion). */
const char *ctl_path(dstr *out, const dstr *root, const char *rel);
void ctl_instance_free(ctl_instance *in);

/* Die with one line when memory runs out: the only sane reaction in a
 * command-line tool. */
_Noreturn void ctl_nomem(void);

/* When run as root on an instance owned by someone else, give a new file
 * to the instance's owner, so its services (running as that user) can use
 * it.  A no-op otherwise.  Returns 0 or -1 (errno). */
int ctl_own_init(const char *root);
int ctl_own(const char *path);
/* Owner for a user's mailbox: as ctl_own, except that root in a root-owned
 * instance gives it to nobody:nogroup (mail is never delivered as root). */
int ctl_own_mailbox(const char *path);
/* In that same case (root, root-owned instance), let the mailboxes' group
 * (nogroup) add messages to the queue, for forwards and programs that
 * send mail: queue/tmp and queue/mess/NN become group-writable and sticky
 * (no one removes another's file).  A root install uses a setuid
 * qmail-queue instead.  Returns 0 or -1 after reporting. */
int ctl_queue_share(const dstr *root);
/* Run as root: the unprivileged ids a mail server (qmail-smtpd) gets from
 * qmail-tcpd: qmaild's in a root install (ctl_system), else the instance
 * owner's, or nobody:nogroup for a root-owned instance (whose queue
 * ctl_queue_share opened to that group).  Returns 1 with the ids set, 0
 * when no drop is needed or possible, -1 after reporting (a root install
 * without qmaild). */
int ctl_server_ids(uid_t *uid, gid_t *gid);

/* ---- the root install (ctl_system.c) ------------------------------------ */

/* Written by `qmailctl init --system`: the instance runs qmail's privilege
 * split (each daemon under its qmail user; qmail-start reads it too). */
#define CTL_PRIVSEP_FILE "control/privsep"
/* Note whether instance root is in system mode (CTL_PRIVSEP_FILE exists).
 * Returns 0, or -1 after reporting. */
int ctl_system_init(const dstr *root);
/* Force the mode (init --system on a directory without the file yet). */
void ctl_system_set(int on);
/* 1 in system mode. */
int ctl_system(void);
/* uid and primary gid of a system user other than root; -1 (errno
 * ENOENT) when there is none. */
int ctl_system_user(const char *name, uid_t *uid, gid_t *gid);
/* In system mode and as root: give the queue to the qmail users, each
 * part to the one that writes it (ctl_system.c's table).  Existing
 * messages are not touched.  Returns 0 or -1 after reporting. */
int ctl_system_layout(const dstr *root);
/* Owner for the alias user's home and files: user alias in system mode,
 * else as ctl_own_mailbox.  0 or -1 (errno). */
int ctl_system_own_alias(const char *path);
/* Before start or run in system mode: root, the qmail users exist, and
 * bin/qmail-queue is setuid qmailq.  0, or -1 after reporting. */
int ctl_system_check(const dstr *root);

/* Serialise the commands that start or stop services of an instance:
 * flock() on its run/ directory, waiting up to timeout_ms for another
 * qmailctl.  Returns the descriptor to close when done, or -1 after
 * reporting. */
int ctl_lock(const dstr *root, int timeout_ms);

/* Remove a directory tree we created ourselves (does not follow links). */
int ctl_remove_tree(const char *path);

/* ---- validation (ctl_check.c) ------------------------------------------ */

/* 1 if s is a domain name we accept as the host name, else 0. */
int ctl_hostname_ok(const char *s);
/* Parse a TCP port 1..65535; returns 0 or -1. */
int ctl_port_parse(const char *s, unsigned *port);
/* 1 if s is an IPv4 or IPv6 address literal; canonical form into out. */
int ctl_bind_ok(const char *s, dstr *canon);
/* 1 if s is an acceptable instance user name. */
int ctl_username_ok(const char *s);
#define CTL_USERNAME_MAX 64

/* Default of a port control file ("control/smtpport" -> "2525"), or NULL
 * (ctl_init.c holds the table of ports). */
const char *ctl_port_default(const char *file);

/* ---- the service table (ctl_service.c) --------------------------------- */

/*
 * One entry per service that start/stop/status/run handle, in start order
 * (stop goes in reverse).  A service whose program is not in bin/ is
 * skipped, so adding a service later is one entry.
 *
 * The delivery side ("qmail-send") is up when its lock file is held.  A
 * network service is run by qmail-tcpd on the port of its control file and
 * control/bindaddress, and is up when that port accepts connections.
 */
typedef struct ctl_service {
    const char *name;       /* shown by status; names log/NAME.log and
                               run/NAME.pid */
    const char *program;    /* in bin/: the service is skipped without it */
    const char *lockfile;   /* held while it runs (delivery), or NULL */
    const char *portfile;   /* control file with its port (network), or
                               NULL */
    /* argv of the server: "@BIN/x" is bin/x, "@HOST" control/me.  For a
     * network service it follows "qmail-tcpd ADDR PORT". */
    const char *const *args;
} ctl_service;

#define CTL_SERVICES_MAX 8 /* room in the table, for per-service arrays */
extern const ctl_service ctl_services[];
extern const size_t ctl_nservices;

#define CTL_TCPD "qmail-tcpd"

/* 1 if the service's programs exist in bin/. */
int ctl_service_installed(const ctl_service *s);

/* An argv to exec, with the strings it points to. */
#define CTL_ARGV_MAX 24
typedef struct ctl_argv {
    char *vec[CTL_ARGV_MAX + 1];
    dstr store[CTL_ARGV_MAX];
    int n;
} ctl_argv;
/* Build the argv that runs the service of instance root (bind address and
 * port read from the control files).  Returns 0 or -1 after reporting. */
int ctl_service_argv(const ctl_service *s, const dstr *root, ctl_argv *av);
void ctl_argv_free(ctl_argv *av);
/* The configured port and bind address of a network service; 0 or -1
 * after reporting (naming the control file). */
int ctl_service_port(const ctl_service *s, const dstr *root, unsigned *port,
                     dstr *bind);

/* State of one service. */
typedef struct ctl_state {
    int running;     /* 1 running, 0 not */
    pid_t pid;       /* from the pid file, 0 when unknown */
    int stale;       /* the pid file names no process of this service */
    int busy;        /* delivery: its process lives but does not hold the
                        lock (starting or stopping) */
} ctl_state;

/* Returns 0, or -1 after reporting. */
int ctl_service_state(const ctl_service *s, const dstr *root, ctl_state *st);
/* 1 if the service is up: its lock is held / its port accepts
 * connections; 0 if not; -1 on error (reported). */
int ctl_service_up(const ctl_service *s, const dstr *root);
/* run/NAME.pid: read returns 1 found, 0 missing, -1 error (reported). */
int ctl_pidfile_read(const ctl_service *s, const dstr *root, pid_t *pid);
int ctl_pidfile_write(const ctl_service *s, const dstr *root, pid_t pid);
void ctl_pidfile_remove(const ctl_service *s, const dstr *root);
/* 1 if process pid exists and is not a zombie. */
int ctl_pid_alive(pid_t pid);

/* ---- processes (ctl_proc.c) ------------------------------------------- */

/* Check, before anything starts, that every installed network service's
 * port can be bound (services with skip[i] set, e.g. running ones, are
 * not checked; skip may be NULL).  Returns 0 or -1 after naming the
 * port. */
int ctl_ports_free(const dstr *root, const int *skip);
/* control/tcp.NAME (or its .cdb) of a network service, as an absolute
 * path into out (ctl_service.c). */
void ctl_rules_file(const ctl_service *s, int cdb, dstr *out);
/* Start the service.  detached: in the background (new session, stdin
 * /dev/null, stdout and stderr appended to log/NAME.log, *logpos set to
 * that log's size before the start); otherwise in the foreground (its
 * stderr is ours, it dies with us).  Writes run/NAME.pid.  Returns the
 * pid, or -1 after reporting. */
pid_t ctl_spawn(const ctl_service *s, const dstr *root, const ctl_argv *av,
                int detached, long long *logpos);
/* Wait (bounded) until a detached service we started is up.  Returns 0,
 * or -1 after reporting why, with the log lines it wrote since logpos. */
int ctl_wait_up(const ctl_service *s, const dstr *root, pid_t pid,
                long long logpos, int timeout_ms);
/* Stop a running service: SIGTERM, wait up to timeout_ms, then SIGKILL
 * to its process group.  Removes the pid file.  Returns 0 or -1. */
int ctl_stop_service(const ctl_service *s, const dstr *root, pid_t pid,
                     int timeout_ms);

/* ---- commands ----------------------------------------------------------- */

int ctl_cmd_init(int argc, char **argv);
int ctl_cmd_adduser(int argc, char **argv);
int ctl_cmd_start(int argc, char **argv);
int ctl_cmd_stop(int argc, char **argv);
int ctl_cmd_status(int argc, char **argv);
int ctl_cmd_flush(int argc, char **argv);
int ctl_cmd_run(int argc, char **argv);
/* Print the usage text on fd (1 for help, 2 after a usage error). */
void ctl_usage(int fd);

#endif
