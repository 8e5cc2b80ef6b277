/*
 * popup_session.c: qmail-popup's dialogue with the client up to a
 * successful login.  See popup_session.h for the states, the limits and
 * how the checkpassword program is run.
 */
#include "popup_session.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "log.h"
#include "pop3_throttle.h"

#define NEED_USER 1u
#define NEED_PASS 2u
#define AUTH (NEED_USER | NEED_PASS)

/* ---- helpers ---------------------------------------------------------------- */

int popup_host_ok(const char *host)
{
    size_t i, n = strlen(host);

    if (n == 0 || n > 255)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= 32 || c >= 127 || c == '<' || c == '>')
            return 0;
    }
    return 1;
}

int popup_make_stamp(const char *host, char *out, size_t outsize)
{
    unsigned char rnd[6];
    struct timeval tv;
    unsigned long long r = 0;
    size_t i;
    int n;

    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
        memset(rnd, 0, sizeof rnd); /* uniqueness comes from pid and time */
    for (i = 0; i < sizeof rnd; i++)
        r = (r << 8) | rnd[i];
    gettimeofday(&tv, 0);
    n = snprintf(out, outsize, "<%ld.%lld.%06ld.%012llx@%s>", (long)getpid(),
                 (long long)tv.tv_sec, (long)tv.tv_usec, r, host);
    return n > 0 && (size_t)n < outsize ? 0 : -1;
}

static void sleep_seconds(int s)
{
    struct timespec ts = {s, 0};
    while (s > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void reply(struct popup *p, const char *text)
{
    char line[600];
    int n = snprintf(line, sizeof line, "%s\r\n", text);

    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    if (fd_write_all(p->outfd, line, (size_t)n, p->conf.timeout) == -1) {
        p->done = 1;
        p->exitcode = 0;
    }
}

static void bad_command(struct popup *p, const char *text)
{
    reply(p, text);
    if (++p->errors >= POPUP_MAX_ERRORS && !p->done) {
        reply(p, "-ERR too many bad commands; bye");
        p->why = "too many bad commands";
        p->done = 1;
    }
}

/* ---- the checkpassword program ------------------------------------------- */

/* Run it with data on fd 3; returns its wait status, or -1 if it could not
 * be started (logged). */
static int run_checkpassword(struct popup *p, const char *data, size_t len)
{
    int fds[2], status;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) == -1) {
        log_errno("unable to make a pipe");
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        log_errno("unable to fork");
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
    close(fds[1]);
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            log_errno("unable to wait for %s", p->subprogram[0]);
            return -1;
        }
    return status;
}

/* Count a failure of this address; 1 if it is over the limit now. */
static int address_blocked(struct popup *p, int add)
{
    struct pop3_throttle_key key;
    long n;
    int fd;

    if (!p->throttle_path || p->conf.addrfailures == 0 ||
        pop3_throttle_key(p->remote, &key) == -1)
        return 0;
    fd = pop3_throttle_open(p->throttle_path);
    if (fd == -1) {
        /* the limit is a second line of defence: log, do not lock
         * everybody out */
        log_errno("%s: cannot open", p->throttle_path);
        return 0;
    }
    if (add)
        n = pop3_throttle_add(fd, &key, (int64_t)time(0), p->conf.addrwindow);
    else
        n = pop3_throttle_count(fd, &key, (int64_t)time(0),
                                p->conf.addrwindow);
    if (n == -1)
        log_errno("%s: cannot use", p->throttle_path);
    close(fd);
    return n >= 0 && (unsigned long)n >= p->conf.addrfailures;
}

static void login_failed(struct popup *p, const char *why)
{
    p->failures++;
    log_line("login failed: user %.*s from %s%s%s", (int)p->userlen, p->user,
             p->remote, why ? ": " : "", why ? why : "");
    address_blocked(p, 1);
    if (p->conf.faildelay > 0)
        sleep_seconds(p->conf.faildelay);
    p->state = NEED_USER;
    if (p->failures >= POPUP_MAX_FAILURES) {
        reply(p, "-ERR [AUTH] authorization failed; too many failures, bye");
        p->why = "too many failed logins";
        p->done = 1;
        return;
    }
    reply(p, "-ERR [AUTH] authorization failed");
}

static void login(struct popup *p, const char *pass, size_t passlen)
{
    char data[POPUP_CHECKPW_MAX];
    size_t slen = strlen(p->stamp), len;
    int status;

    if (address_blocked(p, 0)) {
        log_line("login refused: user %.*s from %s: at least %lu failed "
                 "logins from there within %ld s",
                 (int)p->userlen, p->user, p->remote, p->conf.addrfailures,
                 p->conf.addrwindow);
        if (p->conf.faildelay > 0)
            sleep_seconds(p->conf.faildelay);
        reply(p, "-ERR [SYS/TEMP] too many failed logins from your "
                 "address; try again later");
        p->why = "address blocked";
        p->done = 1;
        return;
    }
    len = p->userlen + 1 + passlen + 1 + slen + 1;
    if (len > sizeof data) {
        login_failed(p, "name and password too long for checkpassword");
        return;
    }
    memcpy(data, p->user, p->userlen);
    data[p->userlen] = 0;
    memcpy(data + p->userlen + 1, pass, passlen);
    data[p->userlen + 1 + passlen] = 0;
    memcpy(data + p->userlen + passlen + 2, p->stamp, slen + 1);
    status = run_checkpassword(p, data, len);
    explicit_bzero(data, sizeof data);

    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        /* the session took place in the subprogram: nothing more to say */
        p->done = 1;
        p->exitcode = 0;
        p->handed_over = 1;
        return;
    }
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1) {
        login_failed(p, 0);
        return;
    }
    if (status == -1)
        log_line("login failed temporarily: user %.*s from %s",
                 (int)p->userlen, p->user, p->remote);
    else if (WIFEXITED(status))
        log_line("login failed temporarily: user %.*s from %s: %s exited "
                 "%d", (int)p->userlen, p->user, p->remote,
                 p->subprogram[0], WEXITSTATUS(status));
    else
        log_line("login failed temporarily: user %.*s from %s: %s killed "
                 "by signal %d", (int)p->userlen, p->user, p->remote,
                 p->subprogram[0], WIFSIGNALED(status) ? WTERMSIG(status)
                                                       : 0);
    p->state = NEED_USER;
    reply(p, "-ERR [SYS/TEMP] unable to log in now; try again later");
}

/* ---- commands ---------------------------------------------------------------- */

static int h_user(void *v, const struct pop3_cmd *c)
{
    struct popup *p = v;

    memcpy(p->user, c->arg[0], c->arglen[0]);
    p->user[c->arglen[0]] = 0;
    p->userlen = c->arglen[0];
    p->state = NEED_PASS;
    reply(p, "+OK send PASS");
    return 0;
}

static int h_pass(void *v, const struct pop3_cmd *c)
{
    login(v, c->arg[0], c->arglen[0]);
    return 0;
}

static int h_apop(void *v, const struct pop3_cmd *c)
{
    (void)c;
    bad_command(v, "-ERR APOP is not supported; use USER and PASS");
    return 0;
}

static int h_capa(void *v, const struct pop3_cmd *c)
{
    struct popup *p = v;
    static const char capa[] = "+OK capability list follows\r\n"
                               "USER\r\n"
                               "TOP\r\n"
                               "UIDL\r\n"
                               "PIPELINING\r\n"
                               "RESP-CODES\r\n"
                               "AUTH-RESP-CODE\r\n"
                               ".\r\n";
    (void)c;
    if (fd_write_all(p->outfd, capa, sizeof capa - 1, p->conf.timeout) == -1)
        p->done = 1;
    return 0;
}

static int h_quit(void *v, const struct pop3_cmd *c)
{
    struct popup *p = v;
    (void)c;
    reply(p, "+OK bye");
    p->done = 1;
    return 0;
}

static const struct pop3_command popup_commands[] = {
    {"USER", AUTH, 1, 1, h_user},
    {"PASS", NEED_PASS, 1, POP3_RAW, h_pass},
    {"APOP", AUTH, 0, POP3_RAW, h_apop},
    {"CAPA", AUTH, 0, 0, h_capa},
    {"QUIT", AUTH, 0, 0, h_quit},
    /* the TRANSACTION state's commands: known, but not before a login */
    {"STAT", 0, 0, 0, 0},
    {"LIST", 0, 0, 0, 0},
    {"RETR", 0, 0, 0, 0},
    {"DELE", 0, 0, 0, 0},
    {"NOOP", 0, 0, 0, 0},
    {"RSET", 0, 0, 0, 0},
    {"LAST", 0, 0, 0, 0},
    {"TOP", 0, 0, 0, 0},
    {"UIDL", 0, 0, 0, 0},
    {0, 0, 0, 0, 0},
};

/* ---- the session -------------------------------------------------------------- */

int popup_run(struct popup *p)
{
    char line[POP3_LINE_MAX + 2];
    char greeting[400];
    struct pop3_cmd cmd;

    pop3_in_init(&p->in, p->infd, 1);
    p->state = NEED_USER;
    p->userlen = 0;
    p->failures = p->errors = p->commands = 0;
    p->done = 0;
    p->exitcode = 0;
    p->handed_over = 0;
    p->why = 0;
    if (popup_make_stamp(p->host, p->stamp, sizeof p->stamp) == -1) {
        log_line("host name too long: %s", p->host);
        return 111;
    }
    snprintf(greeting, sizeof greeting, "+OK %s POP3 server ready",
             p->host);
    reply(p, greeting);

    while (!p->done) {
        const struct pop3_command *e;
        size_t len;
        int toolong, r;
        enum pop3_parse pr;

        /* room for one octet more than a command may have: that one
         * tells a command of the maximum length from a longer one */
        r = pop3_in_line(&p->in, line, sizeof line, &len, p->conf.timeout,
                         &toolong);
        if (r == 0)
            break;
        if (r == -1) {
            if (errno == EMSGSIZE) {
                reply(p, "-ERR command line too long; bye");
                pop3_drain(&p->in, p->outfd);
                p->why = "endless command line";
            } else if (errno == ETIMEDOUT) {
                p->why = "timeout";
            } else {
                p->why = "read error";
            }
            break;
        }
        if (toolong || len > POP3_LINE_MAX) {
            bad_command(p, "-ERR command line too long");
            continue;
        }
        if (++p->commands > POPUP_MAX_COMMANDS) {
            reply(p, "-ERR too many commands without a login; bye");
            p->why = "too many commands";
            break;
        }
        pr = pop3_cmd_parse(popup_commands, p->state, line, len, &cmd, &e);
        switch (pr) {
        case POP3_PARSE_OK:
            e->handler(p, &cmd);
            break;
        case POP3_PARSE_EMPTY:
            bad_command(p, "-ERR empty command");
            break;
        case POP3_PARSE_BADCHAR:
            bad_command(p, "-ERR bad characters in command");
            break;
        case POP3_PARSE_UNKNOWN:
            bad_command(p, "-ERR unknown command");
            break;
        case POP3_PARSE_STATE:
            bad_command(p, strcmp(e->verb, "PASS") == 0
                               ? "-ERR send USER first"
                               : "-ERR not logged in; send USER and PASS");
            break;
        case POP3_PARSE_ARGS:
            bad_command(p, "-ERR syntax error");
            break;
        }
        explicit_bzero(line, sizeof line);
        explicit_bzero(&cmd, sizeof cmd);
    }
    if (!p->handed_over && (p->commands > 0 || p->why))
        log_line("end: from %s: no login (%s), %d failed logins", p->remote,
                 p->why ? p->why : "client left", p->failures);
    return p->exitcode;
}
