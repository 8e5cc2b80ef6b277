/*
 * popup_auth.c: qmail-popup's privileged half: check a login record,
 * run the checkpassword program, count failures per address.  See
 * popup_auth.h.
 */
#include "popup_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "log.h"
#include "pop3_throttle.h"
#include "timeutil.h"

/* Sleep until time_mono_ms() reaches when. */
void popup_sleep_until(int64_t when)
{
    for (;;) {
        int64_t left = when - time_mono_ms();
        struct timespec ts;
        if (left <= 0)
            return;
        ts.tv_sec = (time_t)(left / 1000);
        ts.tv_nsec = (long)(left % 1000) * 1000000L;
        nanosleep(&ts, 0);
    }
}

/* When to answer a failed login: pop3faildelay after the PASS arrived,
 * or the first multiple of it that is not past yet, so that the time the
 * check took does not show. */
int64_t popup_fail_answer_at(const struct popup *p)
{
    int64_t step = (int64_t)p->conf.faildelay * 1000, now = time_mono_ms();
    int64_t at = p->pass_at + step;

    if (step <= 0)
        return now;
    if (at < now)
        at += ((now - at + step - 1) / step) * step;
    return at;
}

/* ---- the checkpassword program ------------------------------------------- */

/* In the child: close every descriptor above 3, whatever our caller left
 * open (tcpserver's, inetd's): they are not for the mailbox owner. */
static void close_others(void)
{
    struct rlimit rl;
    long fd, max = 65536;

    if (close_range(4, ~0U, 0) == 0)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)max)
        max = (long)rl.rlim_cur;
    for (fd = 4; fd < max; fd++)
        close((int)fd);
}

/* Run it with data on fd 3; returns its wait status, or -1 if it could not
 * be started (logged).  data is wiped as soon as it is in the pipe. */
static int run_checkpassword(struct popup *p, char *data, size_t len)
{
    int fds[2], status;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) == -1) {
        log_errno("unable to make a pipe");
        explicit_bzero(data, len);
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        log_errno("unable to fork");
        explicit_bzero(data, len);
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* fd 3 becomes the read end, kept across exec; the write end
         * closes on exec.  fds 0..2 are open (main saw to it), so the
         * pipe is at 3 or above. */
        if (fds[0] == 3) {
            if (fcntl(3, F_SETFD, 0) == -1)
                _exit(111);
        } else {
            if (dup2(fds[0], 3) == -1)
                _exit(111);
            close(fds[0]);
        }
        close_others();
        signal(SIGPIPE, SIG_DFL);
        execvp(p->subprogram[0], p->subprogram);
        log_errno("unable to run %s", p->subprogram[0]);
        _exit(111);
    }
    close(fds[0]);
    /* at most 512 octets: the pipe takes them at once.  A program that
     * does not read them (EPIPE) is its own business. */
    if (fd_write_all(fds[1], data, len, p->conf.timeout) == -1 &&
        errno != EPIPE)
        log_errno("unable to write to %s", p->subprogram[0]);
    /* the password is in the pipe: no need to keep it for the session */
    explicit_bzero(data, len);
    close(fds[1]);
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            log_errno("unable to wait for %s", p->subprogram[0]);
            return -1;
        }
    return status;
}

/* The per-address table's key for the client, or -1 (logged once per
 * session) when its address is not known. */
static int throttle_key(struct popup *p, struct pop3_throttle_key *key)
{
    if (pop3_throttle_key(p->remote, key) == 0)
        return 0;
    if (!p->noaddr_logged)
        log_line("client address %s is not an IP address: no limit on "
                 "failed logins per address for this connection",
                 p->remote);
    p->noaddr_logged = 1;
    return -1;
}

/* Count this login attempt of the address before the check, in one step
 * with the check of its limit.  1 counted, 0 refused (over the limit),
 * -1 not counted (no limit, no address, or the table is unusable). */
static int count_attempt(struct popup *p)
{
    struct pop3_throttle_key key;
    int fd, r;

    p->counted = 0;
    if (!p->throttle_path || p->conf.addrfailures == 0 ||
        throttle_key(p, &key) == -1)
        return -1;
    fd = pop3_throttle_open(p->throttle_path);
    if (fd == -1) {
        /* the limit is a second line of defence: log, do not lock
         * everybody out */
        log_errno("%s: cannot open", p->throttle_path);
        return -1;
    }
    p->counted_at = (int64_t)time(0);
    r = pop3_throttle_try(fd, &key, p->counted_at, p->conf.addrwindow,
                          p->conf.addrfailures);
    if (r == -1)
        log_errno("%s: cannot use", p->throttle_path);
    close(fd);
    p->counted = r == 1;
    return r;
}

/* The login succeeded: it was no failure. */
static void refund_attempt(struct popup *p)
{
    struct pop3_throttle_key key;
    int fd;

    if (!p->counted)
        return;
    p->counted = 0;
    if (pop3_throttle_key(p->remote, &key) == -1)
        return;
    fd = pop3_throttle_open(p->throttle_path);
    if (fd == -1 || pop3_throttle_refund(fd, &key, p->counted_at,
                                         (int64_t)time(0),
                                         p->conf.addrwindow) == -1)
        log_errno("%s: cannot use", p->throttle_path);
    if (fd != -1)
        close(fd);
}

/* ---- one record ---------------------------------------------------------- */

/* 1 if rec is exactly NAME\0PASSWORD\0TIMESTAMP\0 with a non-empty name. */
static int record_ok(const char *rec, size_t len)
{
    size_t i, nuls = 0;

    if (len < 3 || len > POPUP_CHECKPW_MAX || rec[len - 1] != 0 || !rec[0])
        return 0;
    for (i = 0; i < len; i++)
        nuls += rec[i] == 0;
    return nuls == 3;
}

char popup_auth_check(struct popup *p, char *rec, size_t len)
{
    int ok = record_ok(rec, len), status;
    char name[POPUP_CHECKPW_MAX];
    size_t namelen = ok ? strlen(rec) : 0;

    memcpy(name, rec, namelen);
    name[namelen] = 0;
    if (count_attempt(p) == 0) {
        explicit_bzero(rec, len);
        log_line("login refused: user %s from %s: at least %lu failed "
                 "logins from there within %ld s", name, p->remote,
                 p->conf.addrfailures, p->conf.addrwindow);
        popup_sleep_until(popup_fail_answer_at(p));
        return POPUP_VERDICT_BLOCKED;
    }
    if (!ok) {
        explicit_bzero(rec, len);
        popup_sleep_until(popup_fail_answer_at(p));
        return POPUP_VERDICT_FAIL;
    }
    status = run_checkpassword(p, rec, len);
    explicit_bzero(rec, len);
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        refund_attempt(p);
        return POPUP_VERDICT_OK;
    }
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1) {
        popup_sleep_until(popup_fail_answer_at(p));
        return POPUP_VERDICT_FAIL;
    }
    if (status == -1)
        log_line("login failed temporarily: user %s from %s", name,
                 p->remote);
    else if (WIFEXITED(status))
        log_line("login failed temporarily: user %s from %s: %s exited %d",
                 name, p->remote, p->subprogram[0], WEXITSTATUS(status));
    else
        log_line("login failed temporarily: user %s from %s: %s killed by "
                 "signal SIG%s", name, p->remote, p->subprogram[0],
                 WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) ?
                                     sigabbrev_np(WTERMSIG(status)) : "?"
                                     : "?");
    return POPUP_VERDICT_TEMP;
}

/* ---- the split ------------------------------------------------------------- */

/* The parent's loop: one record, one verdict, until the child closes its
 * end (or has failed too often). */
static void serve(struct popup *p, int fd)
{
    char rec[POPUP_CHECKPW_MAX + 1];
    int failures = 0;

    for (;;) {
        ssize_t n;
        char v;
        do
            n = recv(fd, rec, sizeof rec, MSG_TRUNC);
        while (n == -1 && errno == EINTR);
        if (n <= 0)
            break;
        p->pass_at = time_mono_ms();
        if ((size_t)n > POPUP_CHECKPW_MAX) {
            explicit_bzero(rec, sizeof rec);
            n = 0; /* cut by the socket: refused */
        }
        v = popup_auth_check(p, rec, (size_t)n);
        explicit_bzero(rec, sizeof rec);
        if (fd_write_all(fd, &v, 1, p->conf.timeout) == -1 ||
            v == POPUP_VERDICT_OK || v == POPUP_VERDICT_BLOCKED)
            break;
        if (v == POPUP_VERDICT_FAIL && ++failures >= POPUP_MAX_FAILURES)
            break;
    }
}

int popup_split_run(struct popup *p, void (*child_setup)(void))
{
    int sv[2], status;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
        log_errno("unable to make a socket pair");
        return 111;
    }
    pid = fork();
    if (pid == -1) {
        log_errno("unable to fork");
        return 111;
    }
    if (pid == 0) {
        close(sv[0]);
        p->split = 1;
        p->authfd = sv[1];
        if (child_setup)
            child_setup();
        _exit(popup_run(p));
    }
    close(sv[1]);
    serve(p, sv[0]);
    close(sv[0]);
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            log_errno("unable to wait for the session");
            return 111;
        }
    if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        log_line("session pid %ld from %s killed by signal SIG%s",
                 (long)pid, p->remote, name ? name : "?");
        return 111;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 111;
}
