/*
 * popup_session.c: qmail-popup's dialogue with the client up to a
 * successful login.  See popup_session.h for the states, the limits and
 * how the checkpassword program is run.
 */
#include "popup_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "log.h"
#include "popup_auth.h"
#include "timeutil.h"

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

int popup_peer_address(int fd, char *out, size_t outsize)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    const void *addr;

    memset(&sa, 0, sizeof sa);
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == -1)
        return -1;
    if (sa.ss_family == AF_INET)
        addr = &((const struct sockaddr_in *)&sa)->sin_addr;
    else if (sa.ss_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)&sa)->sin6_addr;
    else
        return -1;
    return inet_ntop(sa.ss_family, addr, out, (socklen_t)outsize) ? 0 : -1;
}

/* Seconds a reply may take: timeoutpop3d, and no more than what is left
 * of the login time (at least 1, for a last word). */
static int write_timeout(const struct popup *p)
{
    int64_t left = (p->login_deadline - time_mono_ms() + 999) / 1000;

    if (!p->login_deadline || left >= p->conf.timeout)
        return p->conf.timeout;
    return left < 1 ? 1 : (int)left;
}

static void reply(struct popup *p, const char *text)
{
    char line[600];
    int n = snprintf(line, sizeof line, "%s\r\n", text);

    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    if (fd_write_all(p->outfd, line, (size_t)n, write_timeout(p)) == -1) {
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

static void login_failed(struct popup *p, const char *why)
{
    p->failures++;
    log_line("login failed: user %.*s from %s%s%s", (int)p->userlen, p->user,
             p->remote, why ? ": " : "", why ? why : "");
    p->state = NEED_USER;
    if (p->failures >= POPUP_MAX_FAILURES) {
        reply(p, "-ERR [AUTH] authorization failed; too many failures, bye");
        p->why = "too many failed logins";
        p->done = 1;
        return;
    }
    reply(p, "-ERR [AUTH] authorization failed");
}

/* Forget the command line and the parsed command: they hold the
 * password after a PASS. */
static void forget_line(struct popup *p)
{
    explicit_bzero(p->line, sizeof p->line);
    explicit_bzero(&p->cmd, sizeof p->cmd);
}

/* Split mode: hand the record to the privileged parent and wait for its
 * verdict (popup_auth.h).  data is wiped here. */
static char ask_parent(struct popup *p, char *data, size_t len)
{
    unsigned char v;
    ssize_t r;

    do
        r = send(p->authfd, data, len, MSG_NOSIGNAL);
    while (r == -1 && errno == EINTR);
    explicit_bzero(data, len);
    if (r != (ssize_t)len) {
        log_errno("unable to pass the login on");
        return 0;
    }
    do
        r = read(p->authfd, &v, 1);
    while (r == -1 && errno == EINTR);
    if (r != 1)
        return 0;
    return (char)v;
}

/* PASS: pass points into p->cmd, which is wiped here. */
static void login(struct popup *p, const char *pass, size_t passlen)
{
    char data[POPUP_CHECKPW_MAX];
    size_t slen = strlen(p->stamp), len;
    int toolong;
    char verdict;

    p->pass_at = time_mono_ms();
    len = p->userlen + 1 + passlen + 1 + slen + 1;
    toolong = len > sizeof data;
    if (!toolong) {
        memcpy(data, p->user, p->userlen);
        data[p->userlen] = 0;
        memcpy(data + p->userlen + 1, pass, passlen);
        data[p->userlen + 1 + passlen] = 0;
        memcpy(data + p->userlen + passlen + 2, p->stamp, slen + 1);
    } else {
        /* counted like any attempt, and refused: not a valid record */
        data[0] = 0;
        len = 1;
    }
    forget_line(p); /* pass is gone from here on */

    if (p->split)
        verdict = ask_parent(p, data, len);
    else
        verdict = popup_auth_check(p, data, len);
    explicit_bzero(data, sizeof data);

    switch (verdict) {
    case POPUP_VERDICT_OK:
        /* the session took place in the subprogram: nothing more to say */
        p->done = 1;
        p->exitcode = 0;
        p->handed_over = 1;
        return;
    case POPUP_VERDICT_FAIL:
        login_failed(p, toolong ? "name and password too long for "
                                  "checkpassword"
                                : 0);
        return;
    case POPUP_VERDICT_BLOCKED:
        reply(p, "-ERR [SYS/TEMP] too many failed logins from your "
                 "address; try again later");
        p->why = "address blocked";
        p->done = 1;
        return;
    case POPUP_VERDICT_TEMP:
        p->state = NEED_USER;
        reply(p, "-ERR [SYS/TEMP] unable to log in now; try again later");
        return;
    default:
        /* the privileged side is gone or said something else */
        log_line("login failed temporarily: user %.*s from %s: no answer "
                 "from the login process", (int)p->userlen, p->user,
                 p->remote);
        reply(p, "-ERR [SYS/TEMP] unable to log in now; try again later");
        p->why = "login process gone";
        p->done = 1;
        p->exitcode = 111;
        return;
    }
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
    if (fd_write_all(p->outfd, capa, sizeof capa - 1, write_timeout(p)) ==
        -1)
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
    char greeting[400];

    pop3_in_init(&p->in, p->infd, 1);
    p->login_deadline = time_mono_ms() + (int64_t)p->conf.logintimeout * 1000;
    if (p->conf.logintimeout <= 0)
        p->login_deadline = 0;
    pop3_in_set_deadline(&p->in, p->login_deadline);
    p->state = NEED_USER;
    p->userlen = 0;
    p->failures = p->errors = p->commands = 0;
    p->done = 0;
    p->exitcode = 0;
    p->handed_over = 0;
    p->counted = 0;
    p->noaddr_logged = 0;
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
        int toolong, r, err;
        enum pop3_parse pr;

        /* the line with its CR LF: at most 255 octets (RFC 2449) */
        r = pop3_in_line(&p->in, p->line, sizeof p->line, &len,
                         p->conf.timeout, &toolong);
        err = errno;
        if (r == 0)
            break;
        if (r == -1 && err == ETIMEDOUT && p->login_deadline &&
            time_mono_ms() >= p->login_deadline) {
            reply(p, "-ERR login took too long; bye");
            p->why = "login took too long";
            break;
        }
        if ((r == -1 && err == EMSGSIZE) ||
            (r == 1 && (toolong || len > POP3_LINE_MAX))) {
            /* nobody needs a longer line before the login: whoever sends
             * one is not a POP3 client, or is up to no good */
            reply(p, "-ERR command line too long; bye");
            pop3_drain(&p->in, p->outfd);
            p->why = "command line too long";
            break;
        }
        if (r == -1) {
            p->why = err == ETIMEDOUT ? "timeout" : "read error";
            break;
        }
        if (++p->commands > POPUP_MAX_COMMANDS) {
            reply(p, "-ERR too many commands without a login; bye");
            p->why = "too many commands";
            break;
        }
        pr = pop3_cmd_parse(popup_commands, p->state, p->line, len, &p->cmd,
                            &e);
        switch (pr) {
        case POP3_PARSE_OK:
            e->handler(p, &p->cmd);
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
        forget_line(p);
    }
    forget_line(p);
    if (!p->handed_over && (p->commands > 0 || p->why))
        log_line("end: from %s: no login (%s), %d failed logins", p->remote,
                 p->why ? p->why : "client left", p->failures);
    return p->exitcode;
}
