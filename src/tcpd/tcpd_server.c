/*
 * tcpd_server.c: qmail-tcpd's accept loop.
 *
 * One process, one poll() over the listening socket and the signal
 * self-pipe.  For each connection, in this order:
 *   1. the rules (-x), read afresh from the cdb: deny closes at once;
 *   2. the limits: -c sessions in all, -C per client (tcpd_table.h says
 *      what a client is); over either, the optional -m line is sent
 *      without waiting and the connection closed;
 *   3. fork; the child becomes the server (tcpd_child.c); the parent
 *      records it, closes its copy of the socket and logs one line.
 *      With -R (tcpd_worker.c) the connection goes to an idle worker, or
 *      a new one, instead: the session is recorded under the worker's
 *      pid until the worker says it is done, or dies.
 * Children are reaped on SIGCHLD (the handler only writes to the
 * self-pipe) and logged with their exit status.
 *
 * Nothing one client does can stop the daemon: every per-connection
 * error closes that connection and is logged; running out of
 * descriptors or processes pauses accepting for a moment instead of
 * spinning.  Log lines about refusals and such errors are limited to
 * NOISY_MAX a second, with a count of what was left out, so a flood
 * cannot fill the disk.
 *
 * Trust: client addresses from the kernel; the rules cdb is checked
 * (tcpd_verdict_parse) and a bad one refuses the connection.
 */
#include "tcpd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sig.h"
#include "tcpd_table.h"
#include "timeutil.h"

#define ACCEPT_BURST 64      /* accepts per poll round */
#define PAUSE_MS 100         /* after EMFILE, fork failure, ... */
#define NOISY_MAX 50         /* refusal/error lines per second */

static const tcpd_conf *conf;
static tcpd_table table;
static tcpd_pool pool;
static struct pollfd *pfds;     /* the self-pipe, the socket, workers */
static pid_t *pfd_pids;         /* the worker of each pfds[2 + i] */
static size_t pfds_max;
static dstr rule_value = DSTR_ZERO, rule_key = DSTR_ZERO;
static dstr busy_line = DSTR_ZERO;
static int64_t paused_until;

static struct {
    int64_t second;
    unsigned logged;
    unsigned long suppressed;
} noisy;

static void noisy_flush(int64_t now_s)
{
    if (now_s != noisy.second) {
        if (noisy.suppressed)
            log_line("%lu more refused connections or errors were not "
                     "logged one by one", noisy.suppressed);
        noisy.second = now_s;
        noisy.logged = 0;
        noisy.suppressed = 0;
    }
}

/* 1 if a line about a refusal or a per-connection error may be logged */
static int noisy_ok(void)
{
    noisy_flush(time_mono_ms() / 1000);
    if (noisy.logged < NOISY_MAX) {
        noisy.logged++;
        return 1;
    }
    noisy.suppressed++;
    return 0;
}

static void pause_accepting(void)
{
    paused_until = time_mono_ms() + PAUSE_MS;
}

static void refuse(tcpd_session *s, const char *why, size_t n, size_t max,
                   char opt)
{
    if (busy_line.len) {
        /* a fresh socket's send buffer is empty: this cannot block, and
         * if it fails there is nothing to do */
        if (send(s->fd, busy_line.s, busy_line.len,
                 MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
        }
    }
    close(s->fd);
    if (conf->verbosity >= 1 && noisy_ok())
        log_line("refuse remote %s port %u: %zu sessions %s (-%c %zu)",
                 s->remote_ip, s->remote_port, n, why, opt, max);
}

/* "NAME,NAME" of the rule's variables, for -v */
static void var_names(const tcpd_verdict *v, char *out, size_t size)
{
    size_t i = 0, o = 0;

    out[0] = 0;
    while (i < v->varslen && o + 2 < size) {
        const char *e = v->vars + i;
        size_t len = strlen(e), k;
        if (o)
            out[o++] = ',';
        for (k = 0; k < len && e[k] != '=' && o + 1 < size; k++)
            out[o++] = e[k];
        out[o] = 0;
        i += len + 1;
    }
}

/* Record the session that pid now serves, and log it. */
static void record_session(tcpd_session *s, pid_t pid,
                           const unsigned char key[16], unsigned long nth)
{
    tcpd_conn *slot = tcpd_table_add(&table, pid, key);

    if (slot) { /* always: the limit was checked */
        memcpy(slot->ip, s->remote_ip, sizeof slot->ip);
        slot->port = s->remote_port;
        slot->start_ms = time_mono_ms();
    }
    if (conf->verbosity >= 1) {
        char rule[48] = "", vars[512] = "", worker[48] = "";
        if (s->verdict.line)
            snprintf(rule, sizeof rule, " rule line %lu", s->verdict.line);
        if (conf->verbosity >= 2 && s->verdict.nvars) {
            char names[480];
            var_names(&s->verdict, names, sizeof names);
            snprintf(vars, sizeof vars, " vars %s", names);
        }
        if (nth)
            snprintf(worker, sizeof worker, " worker session %lu/%zu", nth,
                     conf->reuse);
        log_line("start pid %ld remote %s port %u local %s port %u%s%s%s "
                 "sessions %zu/%zu", (long)pid, s->remote_ip,
                 s->remote_port, s->local_ip, s->local_port, rule, vars,
                 worker, table.used, conf->maxconn);
    }
}

static void start_session(tcpd_session *s, const unsigned char key[16])
{
    sigset_t block, old;
    pid_t pid;

    if (tcpd_pool_eligible(conf, s)) {
        unsigned long nth = 0;
        pid = tcpd_pool_hand(&pool, s, &nth);
        if (pid == -1) {
            if (noisy_ok())
                log_errno("cannot hand remote %s port %u to a worker; "
                          "closed it", s->remote_ip, s->remote_port);
            pause_accepting();
            return;
        }
        record_session(s, pid, key, nth);
        return;
    }
    tcpd_pool_make_room(&pool, table.used);
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    /* blocked across fork: a signal must not reach the child while it
     * still has our handlers (they write to our self-pipe) */
    sigprocmask(SIG_BLOCK, &block, &old);
    pid = fork();
    if (pid == 0)
        tcpd_child_run(conf, s);
    sigprocmask(SIG_SETMASK, &old, 0);
    if (pid == -1) {
        if (noisy_ok())
            log_errno("cannot fork for remote %s port %u; closed it",
                      s->remote_ip, s->remote_port);
        close(s->fd);
        pause_accepting();
        return;
    }
    close(s->fd);
    record_session(s, pid, key, 0);
}

static void handle_connection(int fd, const struct sockaddr_storage *peer,
                              socklen_t peerlen)
{
    struct sockaddr_storage local;
    socklen_t locallen = sizeof local;
    unsigned char key[16];
    tcpd_session s;
    size_t n;

    memset(&s, 0, sizeof s);
    s.fd = fd;
    if (tcpd_addr_from_sockaddr((const struct sockaddr *)peer, peerlen,
                                &s.remote, &s.remote_port) == -1 ||
        getsockname(fd, (struct sockaddr *)&local, &locallen) == -1 ||
        tcpd_addr_from_sockaddr((const struct sockaddr *)&local, locallen,
                                &s.local, &s.local_port) == -1) {
        if (noisy_ok())
            log_errno("cannot get the addresses of a connection; closed "
                      "it");
        close(fd);
        return;
    }
    tcpd_addr_format(&s.remote, s.remote_ip);
    tcpd_addr_format(&s.local, s.local_ip);

    if (conf->rules) {
        if (tcpd_rules_decide(conf->rules, &s.remote, &rule_value,
                              &rule_key, &s.verdict) == -1) {
            if (noisy_ok()) {
                if (errno == EINVAL || errno == EPROTO)
                    log_line("%s: not a rules file made by qmail-tcprules, "
                             "or damaged; refused remote %s port %u",
                             conf->rules, s.remote_ip, s.remote_port);
                else
                    log_errno("%s: cannot read the rules; refused remote "
                              "%s port %u", conf->rules, s.remote_ip,
                              s.remote_port);
            }
            close(fd);
            return;
        }
        if (!s.verdict.allow) {
            close(fd);
            if (conf->verbosity >= 1 && noisy_ok())
                log_line("deny remote %s port %u: rule line %lu of %s",
                         s.remote_ip, s.remote_port, s.verdict.line,
                         conf->rules);
            return;
        }
    } else {
        s.verdict.allow = 1;
    }

    if (table.used >= conf->maxconn) {
        refuse(&s, "in all", table.used, conf->maxconn, 'c');
        return;
    }
    tcpd_addr_limit_key(&s.remote, key);
    n = tcpd_table_count(&table, key);
    if (n >= conf->maxperip) {
        refuse(&s, s.remote.family == 4 ? "from this address"
                                        : "from this /64",
               n, conf->maxperip, 'C');
        return;
    }
    start_session(&s, key);
}

static void accept_some(int lfd)
{
    int i;

    for (i = 0; i < ACCEPT_BURST; i++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        if (fd == -1) {
            switch (errno) {
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
                return;
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
            case EPERM:
            case ENETDOWN:
            case ENOPROTOOPT:
            case EHOSTDOWN:
            case ENONET:
            case EHOSTUNREACH:
            case EOPNOTSUPP:
            case ENETUNREACH:
                continue; /* that client is gone; the next may be fine */
            default:
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for children to
                 * finish rather than spin */
                if (noisy_ok())
                    log_errno("cannot accept; pausing for %d ms",
                              PAUSE_MS);
                pause_accepting();
                return;
            }
        }
        handle_connection(fd, &peer, len);
        if (paused_until)
            return;
    }
}

static void log_end(pid_t pid, const tcpd_conn *c, const char *how)
{
    int64_t ms = time_mono_ms() - c->start_ms;

    log_line("end pid %ld remote %s port %u %s after %lld.%03lld s "
             "sessions %zu/%zu", (long)pid, c->ip, c->port, how,
             (long long)(ms / 1000), (long long)(ms % 1000), table.used,
             conf->maxconn);
}

static void describe_status(int status, char *how, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(how, size, "killed by signal %d SIG%s", WTERMSIG(status),
                 sigabbrev_np(WTERMSIG(status))
                     ? sigabbrev_np(WTERMSIG(status))
                     : "?");
    else
        snprintf(how, size, "status %d", WEXITSTATUS(status));
}

static void reap(void)
{
    tcpd_conn c;
    pid_t pid;
    int status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        char how[48];
        int busy = 0;
        unsigned long served = 0;

        if (tcpd_pool_reaped(&pool, pid, &busy, &served) && !busy) {
            /* between sessions: only news when it did not just go */
            if (conf->verbosity >= 2 ||
                (conf->verbosity >= 1 &&
                 (WIFSIGNALED(status) || WEXITSTATUS(status) != 0))) {
                describe_status(status, how, sizeof how);
                log_line("worker pid %ld %s after %lu session%s", (long)pid,
                         how, served, served == 1 ? "" : "s");
            }
            continue;
        }
        if (!tcpd_table_remove(&table, pid, &c))
            continue;
        if (conf->verbosity < 1)
            continue;
        describe_status(status, how, sizeof how);
        log_end(pid, &c, how);
    }
}

/* Workers that wrote to us: a session is over. */
static void worker_input(size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        tcpd_conn c;
        pid_t pid = pfd_pids[i];
        if (!(pfds[2 + i].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        if (!tcpd_pool_input(&pool, pid))
            continue;
        if (tcpd_table_remove(&table, pid, &c) && conf->verbosity >= 1)
            log_end(pid, &c, "done");
    }
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint64_t)time_real_us() ^ ((uint64_t)getpid() << 32);
    return seed;
}

int tcpd_serve(const tcpd_conf *c, int lfd)
{
    int sigfd;

    conf = c;
    if (tcpd_table_init(&table, c->maxconn, random_seed()) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "cannot make room for %zu sessions",
                      c->maxconn);
    tcpd_pool_init(&pool, c);
    /* busy workers (at most -c) and idle ones (at most half as many,
     * or TCPD_IDLE_MIN, plus one for a moment) */
    pfds_max = c->reuse > 1 ? c->maxconn + c->maxconn / 2 + TCPD_IDLE_MIN + 2
                            : 0;
    pfds = calloc(2 + pfds_max, sizeof *pfds);
    pfd_pids = calloc(pfds_max + 1, sizeof *pfd_pids);
    if (!pfds || !pfd_pids)
        log_die_errno(TCPD_EXIT_FAIL, "cannot make room for %zu sessions",
                      c->maxconn);
    if (pfds_max) {
        /* one socket per worker: -c of them must fit under our descriptor
         * limit (fresh servers hold none of ours), with room for the
         * listening socket, the self-pipe, the rules and a connection
         * being handed on */
        size_t need = pfds_max + 32, have = tcpd_fd_room(need);
        if (have < need)
            log_line("warning: descriptor limit %zu: fewer than the %zu "
                     "that -c %zu with -R needs; connections over it are "
                     "closed", have, need, c->maxconn);
    }
    if (c->busy_msg &&
        (dstr_copys(&busy_line, c->busy_msg) == -1 ||
         dstr_cats(&busy_line, "\r\n") == -1))
        log_die_errno(TCPD_EXIT_FAIL, "out of memory");
    sigfd = sig_selfpipe_init();
    if (sigfd == -1 || sig_selfpipe_catch(SIGCHLD) == -1 ||
        sig_selfpipe_catch(SIGTERM) == -1 ||
        sig_selfpipe_catch(SIGINT) == -1 ||
        sig_selfpipe_catch(SIGHUP) == -1 || sig_ignore(SIGPIPE) == -1 ||
        sig_unblock(SIGCHLD) == -1 || sig_unblock(SIGTERM) == -1 ||
        sig_unblock(SIGINT) == -1 || sig_unblock(SIGHUP) == -1)
        log_die_errno(TCPD_EXIT_FAIL, "cannot set up signals");

    for (;;) {
        struct pollfd *p = pfds;
        int timeout = -1, sig, stop = 0, child = 0, accepting = 0, idle;
        int64_t now = time_mono_ms();
        size_t nworkers;

        if (paused_until && now >= paused_until)
            paused_until = 0;
        p[0].fd = sigfd;
        p[0].events = POLLIN;
        p[0].revents = 0;
        /* a paused loop still polls slot 1, on nothing */
        p[1].fd = -1;
        p[1].events = POLLIN;
        p[1].revents = 0;
        if (!paused_until) {
            p[1].fd = lfd;
            accepting = 1;
        } else {
            timeout = (int)(paused_until - now) + 1;
        }
        if (noisy.suppressed && (timeout == -1 || timeout > 1000))
            timeout = 1000;
        idle = tcpd_pool_expire(&pool, now);
        if (idle >= 0 && (timeout == -1 || idle + 1 < timeout))
            timeout = idle + 1;
        nworkers = tcpd_pool_pollfds(&pool, p + 2, pfd_pids, pfds_max);
        if (poll(p, (nfds_t)(2 + nworkers), timeout) == -1) {
            if (errno != EINTR)
                log_die_errno(TCPD_EXIT_FAIL, "poll");
            continue;
        }
        noisy_flush(time_mono_ms() / 1000);
        while ((sig = sig_selfpipe_read()) != 0) {
            if (sig == SIGCHLD)
                child = 1;
            else if (sig == SIGTERM || sig == SIGINT)
                stop = sig;
            else if (sig == SIGHUP) {
                /* the rules are read for every connection; reused
                 * servers are replaced, so they read their
                 * configuration again */
                tcpd_pool_retire_all(&pool);
                if (c->verbosity >= 2)
                    log_line("SIGHUP: workers are replaced after their "
                             "current session");
            }
        }
        if (nworkers)
            worker_input(nworkers);
        if (child)
            reap();
        if (stop) {
            close(lfd);
            if (c->verbosity >= 1)
                log_line("%s: stopped listening on %s port %u; %zu "
                         "sessions go on by themselves",
                         stop == SIGTERM ? "SIGTERM" : "SIGINT", c->addr,
                         c->port, table.used);
            return 0;
        }
        if (accepting && (p[1].revents & (POLLIN | POLLERR | POLLHUP)))
            accept_some(lfd);
    }
}
