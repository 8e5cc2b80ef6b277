/*
 * ctl_service.c: the services of an instance and how to tell whether each
 * runs.
 *
 * The table below is the only place that knows which services exist.  To
 * add one, add an entry: its program in bin/, the control file with its
 * port, and its argv.  Entries whose program is not built are skipped by
 * start, stop, status and run.
 *
 * Running-ness: qmail-send holds an exclusive flock() on
 * queue/lock/sendlock while it runs, which is the truth whatever pid files
 * say; we test it with a non-blocking shared lock that we drop at once.
 * Network services are known by their pid file and /proc.
 */
#include "ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "file.h"
#include "log.h"
#include "num.h"
#include "qhome.h"

static const char *const send_args[] = {"@BIN/qmail-start", 0};
static const char *const smtp_args[] = {"@BIN/qmail-smtpd", 0};
static const char *const pop3_args[] = {"@BIN/qmail-popup", "@HOST",
                                        "@BIN/qmail-checkpw",
                                        "@BIN/qmail-pop3d", "Maildir", 0};
static const char *const qmtp_args[] = {"@BIN/qmail-qmtpd", 0};
static const char *const qmqp_args[] = {"@BIN/qmail-qmqpd", 0};

/* In start order.  Delivery first, so that mail accepted by the servers
 * is delivered at once.  (submission: planned, with SMTP AUTH.) */
const ctl_service ctl_services[] = {
    {"qmail-send", "qmail-start", "queue/lock/sendlock", 0, send_args},
    {"smtpd", "qmail-smtpd", 0, "control/smtpport", smtp_args},
    {"pop3d", "qmail-popup", 0, "control/pop3port", pop3_args},
    {"qmtpd", "qmail-qmtpd", 0, "control/qmtpport", qmtp_args},
    {"qmqpd", "qmail-qmqpd", 0, "control/qmqpport", qmqp_args},
};
const size_t ctl_nservices = sizeof ctl_services / sizeof ctl_services[0];
_Static_assert(sizeof ctl_services / sizeof ctl_services[0] <=
                   CTL_SERVICES_MAX,
               "raise CTL_SERVICES_MAX in ctl.h");

static int bin_exists(const char *prog)
{
    dstr p = DSTR_ZERO;
    int ok;

    if (dstr_copys(&p, qhome_bindir()) == -1 || dstr_catc(&p, '/') == -1 ||
        dstr_cats(&p, prog) == -1 || dstr_cat0(&p) == -1)
        ctl_nomem();
    ok = access(p.s, X_OK) == 0;
    dstr_free(&p);
    return ok;
}

int ctl_service_installed(const ctl_service *s)
{
    if (!*qhome_bindir())
        return 0;
    if (!bin_exists(s->program))
        return 0;
    return !s->portfile || bin_exists(CTL_TCPD);
}

int ctl_service_port(const ctl_service *s, const dstr *root, unsigned *port,
                     dstr *bind)
{
    dstr path = DSTR_ZERO, v = DSTR_ZERO;
    int r = -1;

    ctl_path(&path, root, s->portfile);
    if (control_readline(path.s, &v, ctl_port_default(s->portfile)) == -1) {
        log_errno("%s: cannot read", path.s);
        goto out;
    }
    if (dstr_cat0(&v) == -1)
        ctl_nomem();
    if (ctl_port_parse(v.s, port) == -1) {
        log_line("%s: not a port number (1..65535): %s", path.s, v.s);
        goto out;
    }
    ctl_path(&path, root, "control/bindaddress");
    if (control_readline(path.s, &v, "127.0.0.1") == -1) {
        log_errno("%s: cannot read", path.s);
        goto out;
    }
    if (dstr_cat0(&v) == -1)
        ctl_nomem();
    if (!ctl_bind_ok(v.s, bind)) {
        log_line("%s: not an IPv4 or IPv6 address: %s", path.s, v.s);
        goto out;
    }
    r = 0;
out:
    dstr_free(&path);
    dstr_free(&v);
    return r;
}

static int argv_add(ctl_argv *av, const char *a, const char *b)
{
    dstr *d;

    if (av->n >= CTL_ARGV_MAX) {
        errno = E2BIG;
        return -1;
    }
    d = &av->store[av->n];
    *d = (dstr)DSTR_ZERO;
    if (dstr_cats(d, a) == -1 || (b && dstr_cats(d, b) == -1) ||
        dstr_cat0(d) == -1)
        ctl_nomem();
    av->vec[av->n++] = d->s;
    av->vec[av->n] = 0;
    return 0;
}

void ctl_argv_free(ctl_argv *av)
{
    int i;
    for (i = 0; i < av->n; i++)
        dstr_free(&av->store[i]);
    av->n = 0;
    av->vec[0] = 0;
}

/* The access rules of a network service (qmail-tcpd -x): for the port
 * file control/NAMEport, "control/tcp.NAME" (text, edited by the
 * administrator) and "control/tcp.NAME.cdb" (compiled by qmail-tcprules)
 * when cdb is set.  Into out (replaced, NUL-terminated).  Used by
 * ctl_init.c too, which writes the defaults. */
void ctl_rules_file(const ctl_service *s, int cdb, dstr *out)
{
    const char *base = s->portfile;
    size_t len;

    if (strncmp(base, "control/", 8) == 0)
        base += 8;
    len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, "port") == 0)
        len -= 4;
    if (dstr_copys(out, "control/tcp.") == -1 ||
        dstr_catb(out, base, len) == -1 ||
        (cdb && dstr_cats(out, ".cdb") == -1) || dstr_cat0(out) == -1)
        ctl_nomem();
}

/* A limit from control file rel (1..100000) as qmail-tcpd option opt;
 * nothing when the file is missing.  Returns 0, or -1 after reporting. */
static int limit_option(const dstr *root, const char *rel, const char *opt,
                        ctl_argv *av)
{
    dstr path = DSTR_ZERO;
    unsigned long long n;
    char num[NUM_FMT_ULONG];
    int r = -1, have;

    ctl_path(&path, root, rel);
    have = control_readulong(path.s, &n, 0);
    if (have == -1 || (have == 1 && (n < 1 || n > 100000))) {
        if (have == -1 && errno != EINVAL)
            log_errno("%s: cannot read", path.s);
        else
            log_line("%s: give a number from 1 to 100000", path.s);
        goto out;
    }
    if (have == 1) {
        num_fmt_ulong(num, n);
        if (argv_add(av, opt, 0) == -1 || argv_add(av, num, 0) == -1) {
            log_line("%s: too many arguments for qmail-tcpd", path.s);
            goto out;
        }
    }
    r = 0;
out:
    dstr_free(&path);
    return r;
}

/* Sessions per qmail-smtpd process (qmail-tcpd -R) when
 * control/serverreuse is missing; 1 is a fresh process per connection. */
#define CTL_SMTP_REUSE_DEFAULT "100"

/* qmail-tcpd's options for service s: its rules, the concurrency limits
 * from control/concurrencyincoming (qmail's usual name for tcpserver's
 * -c) and control/concurrencyperip (-C; defaults qmail-tcpd's own), and
 * for SMTP a 421 reply to clients over a limit and the reuse of server
 * processes from control/serverreuse (-R).  Returns 0, or -1 after
 * reporting. */
static int tcpd_options(const ctl_service *s, const dstr *root,
                        const char *host, ctl_argv *av)
{
    dstr rel = DSTR_ZERO, path = DSTR_ZERO, msg = DSTR_ZERO;
    int r = -1;

    ctl_rules_file(s, 1, &rel);
    ctl_path(&path, root, rel.s);
    if (argv_add(av, "-x", 0) == -1 || argv_add(av, path.s, 0) == -1)
        goto toolong;
    if (limit_option(root, "control/concurrencyincoming", "-c", av) == -1 ||
        limit_option(root, "control/concurrencyperip", "-C", av) == -1)
        goto out;
    if (strcmp(s->portfile, "control/smtpport") == 0) {
        if (dstr_catf(&msg, "421 %s too many connections, try again later",
                      host) == -1 ||
            dstr_cat0(&msg) == -1)
            ctl_nomem();
        if (argv_add(av, "-m", 0) == -1 || argv_add(av, msg.s, 0) == -1)
            goto toolong;
        /* the default first: a -R from the control file comes later and
         * wins (qmail-tcpd takes the last) */
        if (argv_add(av, "-R", 0) == -1 ||
            argv_add(av, CTL_SMTP_REUSE_DEFAULT, 0) == -1)
            goto toolong;
        if (limit_option(root, "control/serverreuse", "-R", av) == -1)
            goto out;
    }
    /* the mail servers read what strangers send: never as root (in a root
     * install all of them run as qmaild, else as nobody) */
    if (strcmp(s->portfile, "control/smtpport") == 0 ||
        strcmp(s->portfile, "control/qmtpport") == 0 ||
        strcmp(s->portfile, "control/qmqpport") == 0 ||
        strcmp(s->portfile, "control/submissionport") == 0) {
        uid_t uid;
        gid_t gid;
        int ids = ctl_server_ids(&uid, &gid);
        if (ids == -1)
            goto out;
        if (ids == 1) {
            char u[NUM_FMT_ULONG], g[NUM_FMT_ULONG];
            num_fmt_ulong(u, uid);
            num_fmt_ulong(g, gid);
            if (argv_add(av, "-u", 0) == -1 || argv_add(av, u, 0) == -1 ||
                argv_add(av, "-g", 0) == -1 || argv_add(av, g, 0) == -1)
                goto toolong;
        }
    }
    r = 0;
    goto out;
toolong:
    log_line("%s: too many arguments in the service table", s->name);
out:
    dstr_free(&rel);
    dstr_free(&path);
    dstr_free(&msg);
    return r;
}

int ctl_service_argv(const ctl_service *s, const dstr *root, ctl_argv *av)
{
    dstr bindir = DSTR_ZERO, host = DSTR_ZERO, path = DSTR_ZERO;
    dstr bind = DSTR_ZERO;
    const char *const *a;
    int r = -1;

    av->n = 0;
    av->vec[0] = 0;
    if (dstr_copys(&bindir, qhome_bindir()) == -1 ||
        dstr_catc(&bindir, '/') == -1 || dstr_cat0(&bindir) == -1)
        ctl_nomem();
    ctl_path(&path, root, "control/me");
    if (control_readline(path.s, &host, "localhost") == -1) {
        log_errno("%s: cannot read", path.s);
        goto out;
    }
    if (dstr_cat0(&host) == -1)
        ctl_nomem();
    if (s->portfile) {
        unsigned port;
        char num[NUM_FMT_ULONG];
        if (ctl_service_port(s, root, &port, &bind) == -1)
            goto out;
        num_fmt_ulong(num, port);
        if (argv_add(av, bindir.s, CTL_TCPD) == -1)
            goto toolong;
        if (tcpd_options(s, root, host.s, av) == -1) {
            ctl_argv_free(av);
            goto out;
        }
        if (argv_add(av, bind.s, 0) == -1 || argv_add(av, num, 0) == -1)
            goto toolong;
    }
    for (a = s->args; *a; a++) {
        int ok;
        if (strncmp(*a, "@BIN/", 5) == 0)
            ok = argv_add(av, bindir.s, *a + 5);
        else if (strcmp(*a, "@HOST") == 0)
            ok = argv_add(av, host.s, 0);
        else
            ok = argv_add(av, *a, 0);
        if (ok == -1)
            goto toolong;
    }
    r = 0;
    goto out;
toolong:
    log_line("%s: too many arguments in the service table", s->name);
    ctl_argv_free(av);
out:
    dstr_free(&bindir);
    dstr_free(&host);
    dstr_free(&path);
    dstr_free(&bind);
    return r;
}

/* ---- pid files ---------------------------------------------------------- */

static const char *pidfile_path(dstr *out, const ctl_service *s,
                                const dstr *root)
{
    dstr rel = DSTR_ZERO;
    if (dstr_copys(&rel, "run/") == -1 || dstr_cats(&rel, s->name) == -1 ||
        dstr_cats(&rel, ".pid") == -1 || dstr_cat0(&rel) == -1)
        ctl_nomem();
    ctl_path(out, root, rel.s);
    dstr_free(&rel);
    return out->s;
}

int ctl_pidfile_read(const ctl_service *s, const dstr *root, pid_t *pid)
{
    dstr path = DSTR_ZERO, v = DSTR_ZERO;
    unsigned long long n;
    int r;

    *pid = 0;
    pidfile_path(&path, s, root);
    r = control_readline(path.s, &v, 0);
    if (r == -1) {
        log_errno("%s: cannot read", path.s);
    } else if (r == 1) {
        if (dstr_cat0(&v) == -1)
            ctl_nomem();
        if (num_scan_ulong_str(v.s, &n) == -1 || n < 2 || n > 0x7fffffff) {
            log_line("%s: not a process id: %s", path.s, v.s);
            r = -1;
        } else {
            *pid = (pid_t)n;
        }
    }
    dstr_free(&path);
    dstr_free(&v);
    return r;
}

int ctl_pidfile_write(const ctl_service *s, const dstr *root, pid_t pid)
{
    dstr path = DSTR_ZERO, v = DSTR_ZERO;
    int r;

    pidfile_path(&path, s, root);
    if (dstr_catf(&v, "%ld\n", (long)pid) == -1)
        ctl_nomem();
    r = file_write_atomic(path.s, v.s, v.len, 0644);
    if (r == -1)
        log_errno("%s: cannot write", path.s);
    else
        ctl_own(path.s);
    dstr_free(&path);
    dstr_free(&v);
    return r;
}

void ctl_pidfile_remove(const ctl_service *s, const dstr *root)
{
    dstr path = DSTR_ZERO;
    if (unlink(pidfile_path(&path, s, root)) == -1 && errno != ENOENT)
        log_errno("%s: cannot remove", path.s);
    dstr_free(&path);
}

/* ---- is it running? ----------------------------------------------------- */

int ctl_pid_alive(pid_t pid)
{
    char path[64], buf[512];
    const char *paren;
    ssize_t n;
    int fd;

    if (pid <= 0)
        return 0;
    if (kill(pid, 0) == -1 && errno != EPERM)
        return 0;
    /* a zombie is gone for our purposes: /proc/PID/stat "pid (comm) Z" */
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno == ENOENT ? 0 : 1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = 0;
    paren = strrchr(buf, ')');
    if (paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'))
        return 0;
    return 1;
}

static int lock_held(const dstr *root, const char *rel)
{
    dstr path = DSTR_ZERO;
    int fd, r;

    ctl_path(&path, root, rel);
    fd = open(path.s, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1) {
        log_errno("%s: cannot open", path.s);
        dstr_free(&path);
        return -1;
    }
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        r = 0;
    } else if (errno == EWOULDBLOCK) {
        r = 1;
    } else {
        log_errno("%s: cannot test lock", path.s);
        r = -1;
    }
    close(fd); /* drops our shared lock, if we got it */
    dstr_free(&path);
    return r;
}

/* 1 if a TCP connection to bind:port succeeds within a short time. */
static int port_accepts(const char *addr, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct pollfd pfd;
    int fd, err = 0, ok = 0;
    socklen_t elen = sizeof err;

    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        inet_pton(AF_INET6, addr, &a6->sin6_addr);
        if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr))
            a6->sin6_addr = in6addr_loopback;
        len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, addr, &a4->sin_addr);
        if (a4->sin_addr.s_addr == htonl(INADDR_ANY))
            a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a4;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return 0;
    if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
        ok = 1;
    } else if (errno == EINPROGRESS) {
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, 500) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && !err)
            ok = 1;
    }
    close(fd);
    return ok;
}

int ctl_service_up(const ctl_service *s, const dstr *root)
{
    if (s->lockfile)
        return lock_held(root, s->lockfile);
    if (s->portfile) {
        dstr bind = DSTR_ZERO;
        unsigned port;
        int r = -1;
        if (ctl_service_port(s, root, &port, &bind) == 0)
            r = port_accepts(bind.s, port);
        dstr_free(&bind);
        return r;
    }
    return 0;
}

/* 1 if process pid is alive and runs one of the programs that make up
 * service s (by /proc/PID/comm), so that a pid file left over from before
 * a reboot does not make a stranger look like our service. */
static int pid_is_service(pid_t pid, const ctl_service *s)
{
    char path[64], comm[32];
    ssize_t n;
    int fd;

    if (!ctl_pid_alive(pid))
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return 1;   /* no /proc: trust the pid file */
    n = read(fd, comm, sizeof comm - 1);
    close(fd);
    if (n <= 0)
        return 1;
    comm[n] = 0;
    if (comm[n - 1] == '\n')
        comm[n - 1] = 0;
    if (s->lockfile)
        return strcmp(comm, "qmail-send") == 0 ||
               strcmp(comm, s->program) == 0;
    return strcmp(comm, CTL_TCPD) == 0;
}

int ctl_service_state(const ctl_service *s, const dstr *root, ctl_state *st)
{
    int have, ours;

    st->running = st->stale = st->busy = 0;
    have = ctl_pidfile_read(s, root, &st->pid);
    if (have == -1)
        return -1;
    ours = have == 1 && pid_is_service(st->pid, s);
    if (s->lockfile) {
        int held = lock_held(root, s->lockfile);
        if (held == -1)
            return -1;
        st->running = held;
        st->busy = !held && ours;
    } else {
        st->running = ours;
    }
    st->stale = have == 1 && !ours;
    if (!ours && !st->running)
        st->pid = 0;
    return 0;
}
