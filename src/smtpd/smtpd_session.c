/*
 * smtpd_session.c: the SMTP state machine of qmail-smtpd.  See
 * smtpd_session.h and qmail-smtpd(8).
 *
 * Trusts nothing from the client.  Every line is bounded by smtpd_io and
 * checked by smtpd_cmd before a handler sees it; a command runs only in
 * the states the command table allows.  Replies never echo client text.
 */
#include "smtpd_session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void smtpd_session_init(smtpd_session *s, smtpd_conf *c, smtpd_io *io)
{
    memset(s, 0, offsetof(smtpd_session, line));
    s->conf = c;
    s->io = io;
    s->state = SMTPD_ST_START;
    s->pid = (long)getpid();
    s->qq.pid = -1;
    s->why_end = "?";
}

void smtpd_session_free(smtpd_session *s)
{
    dstr_free(&s->sender);
    dstr_free(&s->envelope);
    dstr_free(&s->reply);
    /* a reused process serves the next client with this struct: nothing
     * of this session may remain (the buffers are only read up to what
     * the next session writes, but they are cleared all the same) */
    memset(s, 0, offsetof(smtpd_session, line));
    memset(s->line, 0, sizeof s->line);
}

void smtpd_session_abort(smtpd_session *s, const char *why)
{
    if (!s->quit)
        s->why_end = why;
    s->quit = 1;
}

static void vreply(smtpd_session *s, const char *fmt, va_list ap)
{
    va_list copy;
    int n;

    s->reply.len = 0;
    va_copy(copy, ap);
    n = vsnprintf(0, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || dstr_reserve(&s->reply, (size_t)n + 2) == -1) {
        smtpd_session_abort(s, "out of memory");
        return;
    }
    vsnprintf(s->reply.s, (size_t)n + 1, fmt, ap);
    s->reply.len = (size_t)n;
    if (dstr_catb(&s->reply, "\r\n", 2) == -1 ||
        smtpd_io_reply(s->io, s->reply.s, s->reply.len) == -1)
        smtpd_session_abort(s, "write error");
}

void smtpd_reply(smtpd_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply(s, fmt, ap);
    va_end(ap);
}

void smtpd_reply_err(smtpd_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply(s, fmt, ap);
    va_end(ap);
    if (++s->errors >= s->conf->maxerrors && !s->quit) {
        smtpd_reply(s, "421 4.7.0 %s too many errors; closing connection",
                    s->conf->me.s);
        log_line("%ld: too many errors (%lu): closing", s->pid, s->errors);
        smtpd_session_abort(s, "too many errors");
    }
}

void smtpd_txn_reset(smtpd_session *s)
{
    s->sender.len = 0;
    s->envelope.len = 0;
    s->nrcpt = 0;
    s->state = s->helo[0] ? SMTPD_ST_READY : SMTPD_ST_START;
}

/* ---- commands without a transaction ---------------------------------- */

static void do_helo(smtpd_session *s, const smtpd_cmd *c, int esmtp)
{
    smtpd_conf *conf = s->conf;
    size_t i;

    if (c->arglen > SMTPD_HELO_MAX) {
        smtpd_reply_err(s, "501 5.5.4 %s argument too long",
                        esmtp ? "EHLO" : "HELO");
        return;
    }
    for (i = 0; i < c->arglen; i++)
        if ((unsigned char)c->arg[i] > 126) {
            smtpd_reply_err(s, "501 5.5.4 %s argument must be ASCII",
                            esmtp ? "EHLO" : "HELO");
            return;
        }
    memcpy(s->helo, c->arg, c->arglen);
    s->helo[c->arglen] = 0;
    s->esmtp = esmtp;
    s->state = SMTPD_ST_READY;
    smtpd_txn_reset(s); /* RFC 5321 4.1.4: HELO/EHLO reset the state */
    if (!esmtp) {
        smtpd_reply(s, "250 %s", conf->me.s);
        return;
    }
    /* one reply, so one write: some clients read it with one recv() */
    if (conf->databytes)
        smtpd_reply(s,
                    "250-%s\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                    "250-SIZE %llu\r\n250 ENHANCEDSTATUSCODES",
                    conf->me.s, conf->databytes);
    else
        smtpd_reply(s,
                    "250-%s\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                    "250-SIZE\r\n250 ENHANCEDSTATUSCODES",
                    conf->me.s);
}

static void dispatch(smtpd_session *s, const smtpd_cmd *c)
{
    const smtpd_cmd_def *d = c->def;

    if (d->verb == SMTPD_V_UNKNOWN) {
        smtpd_reply_err(s, "502 5.5.1 unrecognized command");
        return;
    }
    if (d->verb == SMTPD_V_HTTP) {
        smtpd_reply(s, "421 4.7.0 %s this is an SMTP server; closing",
                    s->conf->me.s);
        log_line("%ld: HTTP request on the SMTP port: closing", s->pid);
        smtpd_session_abort(s, "HTTP request");
        return;
    }
    if (!smtpd_cmd_allowed(d, s->state)) {
        smtpd_reply_err(s, "%s", smtpd_cmd_badseq(d, s->state));
        return;
    }
    if (d->arg == SMTPD_ARG_NONE && c->arglen) {
        smtpd_reply_err(s, "501 5.5.4 %s takes no argument", d->name);
        return;
    }
    if (d->arg == SMTPD_ARG_REQUIRED && !c->arglen) {
        smtpd_reply_err(s, "501 5.5.4 %s needs an argument", d->name);
        return;
    }
    switch (d->verb) {
    case SMTPD_V_HELO:
        do_helo(s, c, 0);
        break;
    case SMTPD_V_EHLO:
        do_helo(s, c, 1);
        break;
    case SMTPD_V_MAIL:
        smtpd_do_mail(s, c->arg, c->arglen);
        break;
    case SMTPD_V_RCPT:
        smtpd_do_rcpt(s, c->arg, c->arglen);
        break;
    case SMTPD_V_DATA:
        smtpd_do_data(s);
        break;
    case SMTPD_V_RSET:
        smtpd_txn_reset(s);
        smtpd_reply(s, "250 2.0.0 ok");
        break;
    case SMTPD_V_NOOP:
        smtpd_reply(s, "250 2.0.0 ok");
        break;
    case SMTPD_V_QUIT:
        smtpd_reply(s, "221 2.0.0 %s closing connection", s->conf->me.s);
        smtpd_session_abort(s, "quit");
        break;
    case SMTPD_V_VRFY:
        /* never a directory of users (RFC 5321 3.5.3) */
        smtpd_reply(s, "252 2.0.0 cannot verify users here; send the "
                       "message and delivery will be attempted");
        break;
    case SMTPD_V_HELP:
        smtpd_reply(s, "214-2.0.0 commands: HELO EHLO MAIL RCPT DATA RSET "
                       "NOOP QUIT VRFY HELP\r\n"
                       "214 2.0.0 see RFC 5321 and qmail-smtpd(8)");
        break;
    default:
        smtpd_reply_err(s, "502 5.5.1 unrecognized command");
        break;
    }
}

/* Wait for input before the greeting: 1 if the session is already over. */
static int early_talker(smtpd_session *s)
{
    int r;

    if (s->conf->greetdelay <= 0)
        return 0;
    r = smtpd_io_early(s->io, s->conf->greetdelay * 1000);
    if (r == 0)
        return 0;
    if (r == 1) {
        log_line("%ld: early talker (sent before the greeting): refused",
                 s->pid);
        smtpd_reply(s, "554 5.5.0 %s you talked before my greeting; "
                       "closing", s->conf->me.s);
        smtpd_session_abort(s, "early talker");
        return 1;
    }
    smtpd_session_abort(s, r == 2 ? "closed before the greeting"
                                  : "read error");
    return 1;
}

static void read_failed(smtpd_session *s, long r)
{
    if (r == 0) {
        smtpd_session_abort(s, "connection closed by the client");
        return;
    }
    if (errno == ETIMEDOUT) {
        int whole = s->io->session_over;
        smtpd_reply(s, "421 4.4.2 %s %s; closing connection",
                    s->conf->me.s,
                    whole ? "session time limit reached" : "timeout");
        smtpd_session_abort(s, whole ? "session time limit" : "timeout");
        return;
    }
    smtpd_session_abort(s, "read error");
}

void smtpd_session_run(smtpd_session *s)
{
    smtpd_conf *c = s->conf;

    log_line("%ld: connect from %s%s%s%s to %s", s->pid,
             *c->remoteip ? c->remoteip : "unknown",
             *c->remotehost ? " (" : "", c->remotehost,
             *c->remotehost ? ")" : "", *c->localip ? c->localip : "unknown");
    if (c->rcpthosts_missing)
        log_line("%ld: warning: control/rcpthosts is missing: refusing "
                 "every recipient unless RELAYCLIENT is set", s->pid);
    if (!early_talker(s))
        smtpd_reply(s, "220 %s ESMTP", c->greeting.s);
    while (!s->quit) {
        smtpd_cmd cmd;
        size_t len;
        int toolong, r;

        r = smtpd_io_getline(s->io, s->line, sizeof s->line - 1, &len,
                             &toolong);
        if (r <= 0) {
            read_failed(s, r);
            break;
        }
        if (toolong) {
            smtpd_reply_err(s, "500 5.5.2 line too long");
            continue;
        }
        r = smtpd_cmd_parse(s->line, len, &cmd);
        if (r == SMTPD_CMD_TOOLONG)
            smtpd_reply_err(s, "500 5.5.2 line too long");
        else if (r == SMTPD_CMD_BADCHAR)
            smtpd_reply_err(s, "500 5.5.2 syntax error: control character "
                               "in command");
        else
            dispatch(s, &cmd);
    }
    if (smtpd_io_done(s->io) == -1 && strcmp(s->why_end, "quit") != 0)
        s->why_end = "write error";
    log_line("%ld: disconnect: %s; %lu message%s accepted, %lu error%s",
             s->pid, s->why_end, s->messages, s->messages == 1 ? "" : "s",
             s->errors, s->errors == 1 ? "" : "s");
}
