/*
 * pop3d_session.c: qmail-pop3d's command loop.  See pop3d_session.h for
 * the commands and their rules.  Input is the client's (bounded by
 * pop3_cmd and pop3_io); messages are the user's and any sender's, sent
 * through pop3_enc.
 */
#include "pop3d_session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "pop3_cmd.h"
#include "pop3_enc.h"

#define TRANSACTION 1u

static char readbuf[65536];
static char encbuf[2 * sizeof readbuf + 2];

/* ---- output ------------------------------------------------------------------ */

static void put(struct pop3d *s, const char *data, size_t n)
{
    if (s->done)
        return;
    if (bio_put(&s->out, data, n) == -1) {
        s->why = errno == ETIMEDOUT ? "timeout writing" : "write error";
        s->done = 1;
    }
}

static void puts_crlf(struct pop3d *s, const char *text)
{
    put(s, text, strlen(text));
    put(s, "\r\n", 2);
}

static void putf(struct pop3d *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(struct pop3d *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    put(s, line, (size_t)n);
}

static void bad_command(struct pop3d *s, const char *text)
{
    puts_crlf(s, text);
    if (++s->errors >= POP3D_MAX_ERRORS && !s->done) {
        puts_crlf(s, "-ERR too many bad commands; bye");
        s->why = "too many bad commands";
        s->done = 1;
    }
}

/* ---- the mailbox --------------------------------------------------------------- */

static void totals(const struct pop3d *s, unsigned long *count,
                   unsigned long long *octets)
{
    size_t i;

    *count = 0;
    *octets = 0;
    for (i = 0; i < s->box.n; i++)
        if (!s->box.msg[i].deleted) {
            (*count)++;
            *octets += s->box.msg[i].size;
        }
}

/* The message numbered by arg: its index, or -1 after answering -ERR. */
static long message(struct pop3d *s, const char *arg)
{
    unsigned long n;

    if (pop3_arg_msgnum(arg, (unsigned long)s->box.n, &n) == -1) {
        puts_crlf(s, "-ERR no such message");
        return -1;
    }
    if (s->box.msg[n - 1].deleted) {
        putf(s, "-ERR message %lu is deleted\r\n", n);
        return -1;
    }
    return (long)(n - 1);
}

/* Send message i through the encoder, then the terminating line.
 * Returns 0 if it was sent, -1 if it was answered with -ERR. */
static int send_message(struct pop3d *s, size_t i, unsigned long long lines,
                         const char *ok)
{
    struct pop3_enc e;
    int fd = pop3_box_open(&s->box, i);

    if (fd == -1) {
        if (errno == ENOENT)
            putf(s, "-ERR message %lu is gone (removed by another "
                    "session?)\r\n", (unsigned long)i + 1);
        else
            putf(s, "-ERR [SYS/TEMP] unable to read message %lu\r\n",
                 (unsigned long)i + 1);
        log_errno("user %s: %s", s->user, pop3_box_path(&s->box, i));
        return -1;
    }
    puts_crlf(s, ok);
    pop3_enc_init(&e, 1, lines);
    while (!s->done && !e.done) {
        ssize_t r = read(fd, readbuf, sizeof readbuf);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            /* the reply is under way: it cannot become an -ERR now */
            log_errno("user %s: unable to read %s", s->user,
                      pop3_box_path(&s->box, i));
            s->why = "message read error";
            s->done = 1;
            break;
        }
        if (r == 0)
            break;
        put(s, encbuf, pop3_enc_feed(&e, readbuf, (size_t)r, encbuf));
    }
    close(fd);
    put(s, encbuf, pop3_enc_finish(&e, encbuf));
    put(s, ".\r\n", 3);
    return 0;
}

/* ---- commands ------------------------------------------------------------------ */

static int h_stat(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    unsigned long n;
    unsigned long long octets;

    (void)c;
    totals(s, &n, &octets);
    putf(s, "+OK %lu %llu\r\n", n, octets);
    return 0;
}

static int h_list(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    unsigned long n;
    unsigned long long octets;
    size_t i;
    long m;

    if (c->nargs == 1) {
        m = message(s, c->arg[0]);
        if (m >= 0)
            putf(s, "+OK %ld %llu\r\n", m + 1, s->box.msg[m].size);
        return 0;
    }
    totals(s, &n, &octets);
    putf(s, "+OK %lu messages (%llu octets)\r\n", n, octets);
    for (i = 0; i < s->box.n && !s->done; i++)
        if (!s->box.msg[i].deleted)
            putf(s, "%lu %llu\r\n", (unsigned long)i + 1, s->box.msg[i].size);
    put(s, ".\r\n", 3);
    return 0;
}

static int h_uidl(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    size_t i;
    long m;

    if (c->nargs == 1) {
        m = message(s, c->arg[0]);
        if (m >= 0)
            putf(s, "+OK %ld %s\r\n", m + 1, pop3_box_uid(&s->box, (size_t)m));
        return 0;
    }
    puts_crlf(s, "+OK unique-id listing follows");
    for (i = 0; i < s->box.n && !s->done; i++)
        if (!s->box.msg[i].deleted)
            putf(s, "%lu %s\r\n", (unsigned long)i + 1,
                 pop3_box_uid(&s->box, i));
    put(s, ".\r\n", 3);
    return 0;
}

static int h_retr(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    char ok[64];
    long m = message(s, c->arg[0]);

    if (m < 0)
        return 0;
    snprintf(ok, sizeof ok, "+OK %llu octets", s->box.msg[m].size);
    if (send_message(s, (size_t)m, POP3_ENC_ALL, ok) == -1)
        return 0;
    if ((unsigned long)m + 1 > s->last)
        s->last = (unsigned long)m + 1;
    s->retrieved++;
    s->retrieved_octets += s->box.msg[m].size;
    return 0;
}

static int h_top(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    unsigned long long lines;
    long m = message(s, c->arg[0]);

    if (m < 0)
        return 0;
    if (pop3_arg_count(c->arg[1], &lines) == -1) {
        bad_command(s, "-ERR syntax error: TOP message lines");
        return 0;
    }
    send_message(s, (size_t)m, lines, "+OK top of message follows");
    return 0;
}

static int h_dele(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    long m = message(s, c->arg[0]);

    if (m < 0)
        return 0;
    s->box.msg[m].deleted = 1;
    putf(s, "+OK message %ld deleted\r\n", m + 1);
    return 0;
}

static int h_rset(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    unsigned long n;
    unsigned long long octets;
    size_t i;

    (void)c;
    for (i = 0; i < s->box.n; i++)
        s->box.msg[i].deleted = 0;
    s->last = 0;
    totals(s, &n, &octets);
    putf(s, "+OK %lu messages (%llu octets)\r\n", n, octets);
    return 0;
}

static int h_noop(void *v, const struct pop3_cmd *c)
{
    (void)c;
    puts_crlf(v, "+OK");
    return 0;
}

static int h_last(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    (void)c;
    putf(s, "+OK %lu\r\n", s->last);
    return 0;
}

static int h_capa(void *v, const struct pop3_cmd *c)
{
    (void)c;
    puts_crlf(v, "+OK capability list follows\r\n"
                 "USER\r\n"
                 "TOP\r\n"
                 "UIDL\r\n"
                 "PIPELINING\r\n"
                 "RESP-CODES\r\n"
                 "AUTH-RESP-CODE\r\n"
                 ".");
    return 0;
}

static int h_quit(void *v, const struct pop3_cmd *c)
{
    struct pop3d *s = v;
    size_t i;
    unsigned long failed = 0;

    (void)c;
    /* UPDATE state */
    for (i = 0; i < s->box.n; i++) {
        if (!s->box.msg[i].deleted)
            continue;
        if (pop3_box_remove(&s->box, i) == -1) {
            log_errno("user %s: unable to remove %s", s->user,
                      pop3_box_path(&s->box, i));
            failed++;
        } else {
            s->removed++;
        }
    }
    if (s->removed && file_fsync_dir("cur") == -1)
        log_errno("user %s: unable to sync Maildir cur/", s->user);
    if (failed)
        putf(s, "-ERR %lu deleted messages not removed\r\n", failed);
    else
        putf(s, "+OK bye, %lu messages removed\r\n", s->removed);
    s->quit = 1;
    s->done = 1;
    return 0;
}

static const struct pop3_command pop3d_commands[] = {
    {"STAT", TRANSACTION, 0, 0, h_stat},
    {"LIST", TRANSACTION, 0, 1, h_list},
    {"RETR", TRANSACTION, 1, 1, h_retr},
    {"DELE", TRANSACTION, 1, 1, h_dele},
    {"NOOP", TRANSACTION, 0, 0, h_noop},
    {"RSET", TRANSACTION, 0, 0, h_rset},
    {"LAST", TRANSACTION, 0, 0, h_last},
    {"TOP", TRANSACTION, 2, 2, h_top},
    {"UIDL", TRANSACTION, 0, 1, h_uidl},
    {"CAPA", TRANSACTION, 0, 0, h_capa},
    {"QUIT", TRANSACTION, 0, 0, h_quit},
    /* the AUTHORIZATION state's commands: known, refused here */
    {"USER", 0, 0, 0, 0},
    {"PASS", 0, 0, 0, 0},
    {"APOP", 0, 0, 0, 0},
    {0, 0, 0, 0, 0},
};

/* ---- the session ---------------------------------------------------------------- */

int pop3d_run(struct pop3d *s)
{
    char line[POP3_LINE_MAX + 2];
    struct pop3_cmd cmd;
    unsigned long n;
    unsigned long long octets;

    pop3_in_init(&s->in, s->infd, 0);
    bio_init(&s->out, s->outfd, s->outbuf, sizeof s->outbuf, s->timeout);
    s->last = s->retrieved = s->removed = 0;
    s->retrieved_octets = 0;
    s->errors = s->done = s->quit = 0;
    s->why = 0;

    totals(s, &n, &octets);
    putf(s, "+OK %lu messages (%llu octets)\r\n", n, octets);
    while (!s->done) {
        const struct pop3_command *e;
        size_t len;
        int toolong, r;

        if (!pop3_in_pending(&s->in) && bio_flush(&s->out) == -1) {
            s->why = errno == ETIMEDOUT ? "timeout writing" : "write error";
            break;
        }
        r = pop3_in_line(&s->in, line, sizeof line, &len, s->timeout,
                         &toolong);
        if (r == 0) {
            s->why = "connection closed without QUIT";
            break;
        }
        if (r == -1) {
            if (errno == EMSGSIZE) {
                puts_crlf(s, "-ERR command line too long; bye");
                bio_flush(&s->out);
                pop3_drain(&s->in, s->outfd);
                s->why = "endless command line";
            } else {
                s->why = errno == ETIMEDOUT ? "timeout" : "read error";
            }
            break;
        }
        if (toolong || len > POP3_LINE_MAX) {
            bad_command(s, "-ERR command line too long");
            continue;
        }
        switch (pop3_cmd_parse(pop3d_commands, TRANSACTION, line, len, &cmd,
                               &e)) {
        case POP3_PARSE_OK:
            e->handler(s, &cmd);
            break;
        case POP3_PARSE_EMPTY:
            bad_command(s, "-ERR empty command");
            break;
        case POP3_PARSE_BADCHAR:
            bad_command(s, "-ERR bad characters in command");
            break;
        case POP3_PARSE_UNKNOWN:
            bad_command(s, "-ERR unknown command");
            break;
        case POP3_PARSE_STATE:
            bad_command(s, "-ERR already logged in");
            break;
        case POP3_PARSE_ARGS:
            bad_command(s, "-ERR syntax error");
            break;
        }
    }
    bio_flush(&s->out);
    if (s->quit)
        log_line("end: user %s from %s: QUIT; retrieved %lu (%llu octets), "
                 "removed %lu", s->user, s->remote, s->retrieved,
                 s->retrieved_octets, s->removed);
    else
        log_line("end: user %s from %s: %s; retrieved %lu (%llu octets), "
                 "nothing removed", s->user, s->remote,
                 s->why ? s->why : "ended", s->retrieved,
                 s->retrieved_octets);
    return 0;
}
