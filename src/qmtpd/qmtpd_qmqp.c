/*
 * qmtpd_qmqp.c: the QMQP server's state machine.  See qmtpd_session.h
 * and qmail-qmqpd(8).
 *
 * QMQP clients are trusted to relay (the listener's access rules decide
 * who may connect), so recipients are only checked to be well-formed and
 * bounded: no rcpthosts, no recipient lookup.  The envelope is bounded by
 * QUEUE_RCPT_MAX recipients and QUEUE_ENV_MAX bytes.
 */
#include "qmtpd_session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netstr.h"
#include "qmtpd_pkg.h"
#include "qverdict.h"

typedef enum qmqp_state {
    QMQP_ST_PACKAGE,    /* the enclosing netstring's header */
    QMQP_ST_MESSAGE,
    QMQP_ST_SENDER,
    QMQP_ST_RCPTS,
    QMQP_ST_REPLY,
    QMQP_ST_CLOSE
} qmqp_state;

typedef struct qmqp_session {
    const qmtpd_conf *conf;
    qmtpd_in *in;
    int out;
    long pid;
    qmqp_state state;
    const char *flaw;           /* envelope problem: the D text */
    unsigned long nrcpt;
    int queued;
    dstr envelope;
    qmtpd_addr sender;
    qmtpd_addr rcpt;
    qmtpd_msg msg;
} qmqp_session;

static qmqp_session session;

static void send_reply(qmqp_session *s, char code, const char *text)
{
    dstr r = DSTR_ZERO;

    if (qmtpd_reply_cat(&r, code, text) == -1 ||
        qmtpd_write(s->out, r.s, r.len, s->conf->timeout) == -1)
        log_errno("%ld: unable to send the reply", s->pid);
    dstr_free(&r);
}

static void fail(qmqp_session *s, int err, const char *where)
{
    char buf[160];
    const char *text = 0;
    char code = 'D';

    qmtpd_msg_abort(&s->msg);
    if (err == EMSGSIZE && s->conf->databytes &&
        (!strcmp(where, "message") || !strcmp(where, "package"))) {
        snprintf(buf, sizeof buf, "message too big: the limit is %llu bytes",
                 s->conf->databytes);
        text = buf;
    } else if (err == EMSGSIZE) {
        snprintf(buf, sizeof buf, "protocol error: %s netstring too long",
                 where);
        text = buf;
    } else if (err == EPROTO) {
        snprintf(buf, sizeof buf, "protocol error: malformed %s netstring",
                 where);
        text = buf;
    } else if (err == ETIMEDOUT) {
        code = 'Z';
        text = "timeout; closing connection";
    }
    if (text) {
        log_line("%ld: package refused: %s (nothing queued)", s->pid, text);
        send_reply(s, code, text);
    } else if (err == ENODATA) {
        log_line("%ld: connection closed inside the package (%s): nothing "
                 "queued", s->pid, where);
    } else {
        errno = err;
        log_errno("%ld: read error inside the package (%s)", s->pid, where);
    }
    s->state = QMQP_ST_CLOSE;
}

static void add_address(qmqp_session *s, char tag, const qmtpd_addr *a)
{
    if (s->flaw)
        return;
    if (a->bad)
        s->flaw = tag == 'F' ? "bad sender address syntax"
                             : "bad recipient address syntax";
    else if (a->toolong)
        s->flaw = tag == 'F' ? "sender address too long"
                             : "recipient address too long";
    else if (tag == 'T' && a->len == 0)
        s->flaw = "bad recipient address syntax";
    else if (tag == 'T' && s->nrcpt > QUEUE_RCPT_MAX)
        s->flaw = "too many recipients";
    else if (s->envelope.len + a->len + 3 > QUEUE_ENV_MAX)
        s->flaw = "envelope too big";
    else if (dstr_catc(&s->envelope, tag) == -1 ||
             dstr_catb(&s->envelope, a->addr, a->len + 1) == -1)
        s->flaw = "out of memory";
}

static void reply(qmqp_session *s)
{
    char buf[160];
    const char *text;
    char code;

    if (!s->flaw && s->msg.flaw != QMTPD_MSG_OK) {
        code = s->msg.flaw == QMTPD_MSG_NOQUEUE ? 'Z' : 'D';
        text = qmtpd_msg_flaw_text(&s->msg, buf, sizeof buf);
    } else if (!s->flaw && s->nrcpt == 0) {
        code = 'D';
        text = "no recipients";
    } else if (s->flaw) {
        code = strcmp(s->flaw, "out of memory") ? 'D' : 'Z';
        text = s->flaw;
    } else if (dstr_catc(&s->envelope, 0) == -1) {
        code = 'Z';
        text = "out of memory; try again later";
    } else {
        int qcode = qmtpd_msg_finish(&s->msg, &s->envelope);
        pid_t qp = s->msg.qp;
        code = qverdict(qcode, s->msg.qq.failed, &text);
        if (code == QVERDICT_OK) {
            s->queued = 1;
            snprintf(buf, sizeof buf, "ok %lld qp %ld", (long long)time(0),
                     (long)qp);
            log_line("%ld: message accepted: from <%s>, %lu recipient%s, "
                     "%llu bytes, qp %ld", s->pid, s->sender.addr, s->nrcpt,
                     s->nrcpt == 1 ? "" : "s", s->msg.bytes, (long)qp);
            send_reply(s, code, buf);
            s->state = QMQP_ST_CLOSE;
            return;
        }
        log_line("%ld: message from <%s> %s: qmail-queue exit %d: %s",
                 s->pid, s->sender.addr,
                 code == QVERDICT_PERM ? "refused" : "not queued", qcode,
                 text);
        if (code == QVERDICT_TEMP) {
            snprintf(buf, sizeof buf, "%s; try again later", text);
            text = buf;
        }
        send_reply(s, code, text);
        s->state = QMQP_ST_CLOSE;
        return;
    }
    qmtpd_msg_abort(&s->msg);
    log_line("%ld: message from <%s> not queued: %s", s->pid, s->sender.addr,
             text);
    send_reply(s, code, text);
    s->state = QMQP_ST_CLOSE;
}

unsigned long qmtpd_qmqp_run(const qmtpd_conf *c, qmtpd_in *in, int outfd)
{
    qmqp_session *s = &session;
    unsigned long long len, max;
    int r;

    s->conf = c;
    s->in = in;
    s->out = outfd;
    s->pid = (long)getpid();
    s->state = QMQP_ST_PACKAGE;
    s->flaw = 0;
    s->nrcpt = 0;
    s->queued = 0;
    s->envelope.len = 0;
    qmtpd_addr_init(&s->sender);
    qmtpd_msg_init(&s->msg, c, "QMQP", QMTPD_ENC_LF);
    log_line("%ld: connect from %s%s%s%s", s->pid,
             *c->remoteip ? c->remoteip : "unknown",
             *c->remotehost ? " (" : "", c->remotehost,
             *c->remotehost ? ")" : "");
    while (s->state != QMQP_ST_CLOSE) {
        switch (s->state) {
        case QMQP_ST_PACKAGE:
            max = qmtpd_msg_max(c, 0);
            /* room for the envelope besides the message */
            if (max < 999999999999999999ULL - 4ULL * QUEUE_ENV_MAX)
                max += 4ULL * QUEUE_ENV_MAX;
            r = qmtpd_netstr_header(in, max, &len);
            if (r != 1) {
                if (r == 0) {
                    log_line("%ld: connection closed before a package",
                             s->pid);
                    s->state = QMQP_ST_CLOSE;
                } else {
                    fail(s, errno, "package");
                }
                break;
            }
            qmtpd_enter(in, len);
            s->state = QMQP_ST_MESSAGE;
            break;
        case QMQP_ST_MESSAGE:
            r = qmtpd_netstr(in, qmtpd_msg_max(c, 0), qmtpd_msg_sink,
                             &s->msg);
            if (r != 1) {
                /* r == 0: the package ended before its message */
                fail(s, r == 0 ? (qmtpd_why_none(in) ? ENODATA : EPROTO)
                               : errno,
                     "message");
                break;
            }
            qmtpd_msg_end(&s->msg);
            s->state = QMQP_ST_SENDER;
            break;
        case QMQP_ST_SENDER:
            r = qmtpd_netstr(in, QMTPD_ADDR_NETSTR_MAX, qmtpd_addr_sink,
                             &s->sender);
            if (r != 1) {
                fail(s, r == 0 ? (qmtpd_why_none(in) ? ENODATA : EPROTO)
                               : errno,
                     "sender");
                break;
            }
            add_address(s, 'F', &s->sender);
            s->state = QMQP_ST_RCPTS;
            break;
        case QMQP_ST_RCPTS:
            qmtpd_addr_init(&s->rcpt);
            r = qmtpd_netstr(in, QMTPD_ADDR_NETSTR_MAX, qmtpd_addr_sink,
                             &s->rcpt);
            if (r == -1) {
                fail(s, errno, "recipient");
                break;
            }
            if (r == 1) {
                s->nrcpt++;
                add_address(s, 'T', &s->rcpt);
                break;
            }
            if (qmtpd_why_none(in)) {
                fail(s, ENODATA, "package");
                break;
            }
            if (qmtpd_leave(in) == -1) {
                fail(s, errno, "package");
                break;
            }
            s->state = QMQP_ST_REPLY;
            break;
        case QMQP_ST_REPLY:
            reply(s);
            break;
        case QMQP_ST_CLOSE:
            break;
        }
    }
    qmtpd_msg_abort(&s->msg);
    dstr_free(&s->envelope);
    return (unsigned long)s->queued;
}
