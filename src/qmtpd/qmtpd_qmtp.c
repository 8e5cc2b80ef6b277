/*
 * qmtpd_qmtp.c: the QMTP server's state machine.  See qmtpd_session.h
 * and qmail-qmtpd(8).
 *
 * Memory stays bounded: the message streams through qmtpd_msg; each of
 * the first maxrcpt recipients costs one byte of verdict plus its envelope
 * record, every later one only a count (its verdict is always "too
 * many"), and the replies go out in pieces of QMTPD_REPLY_CHUNK bytes, so
 * a recipient list of millions of empty netstrings (QMTPD_RCPTLIST_MAX
 * bytes) costs no more than a short one.
 */
#include "qmtpd_session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netstr.h"
#include "qmtpd_pkg.h"
#include "qverdict.h"
#include "rcptcheck.h"

#define QMTPD_RCPTLIST_MAX QUEUE_ENV_MAX
#define QMTPD_REPLY_CHUNK 65536  /* replies are written in pieces this big */

typedef enum qmtp_state {
    QMTP_ST_MESSAGE,    /* waiting for a package (or the end) */
    QMTP_ST_SENDER,
    QMTP_ST_RCPTS,
    QMTP_ST_REPLY,
    QMTP_ST_CLOSE
} qmtp_state;

/* per-recipient verdicts, one byte each */
enum {
    V_ACCEPTED = 'A',   /* in the envelope: the queue's verdict applies */
    V_SYNTAX = 'S',
    V_TOOLONG = 'L',
    V_TOOMANY = 'M',
    V_RELAY = 'R',
    V_UNKNOWN = 'U',
    V_LOOKUP = 'T',
    V_CONFIG = 'C',
    V_NOMEM = 'O'
};

/* what is wrong with the sender, if anything */
enum { S_OK = 0, S_SYNTAX, S_TOOLONG, S_BADMAILFROM };

typedef struct qmtp_session {
    const qmtpd_conf *conf;
    qmtpd_in *in;
    int out;
    long pid;
    qmtp_state state;
    int sender_flaw;
    unsigned long nrcpt;        /* recipients in the package */
    unsigned long naccepted;
    unsigned long queued;
    dstr verdicts;              /* one byte for each of the first maxrcpt
                                   recipients; the rest are V_TOOMANY */
    dstr envelope;
    dstr replies;
    qmtpd_addr sender;
    qmtpd_addr rcpt;
    qmtpd_msg msg;
} qmtp_session;

static qmtp_session session; /* large: not on the stack */

unsigned long long qmtpd_msg_max(const qmtpd_conf *c, int qmtp)
{
    /* 10^18 - 1: the most NETSTR_DIGITS_MAX digits say */
    const unsigned long long top = 999999999999999999ULL;

    if (!c->databytes || c->databytes > top / 4)
        return top;
    return qmtp ? 2 * c->databytes + 2 : c->databytes;
}

/* The package could not be read to its end: say why (when the client
 * may still listen) and close. */
static void fail(qmtp_session *s, int err, const char *where)
{
    dstr r = DSTR_ZERO;
    char buf[160];
    const char *text = 0;
    char code = 'D';

    qmtpd_msg_abort(&s->msg);
    switch (err) {
    case EMSGSIZE:
        if (strcmp(where, "message") == 0 && s->conf->databytes) {
            snprintf(buf, sizeof buf, "message too big: the limit is %llu "
                     "bytes", s->conf->databytes);
            text = buf;
        } else {
            snprintf(buf, sizeof buf, "protocol error: %s netstring too "
                     "long", where);
            text = buf;
        }
        break;
    case EPROTO:
        snprintf(buf, sizeof buf, "protocol error: malformed %s netstring",
                 where);
        text = buf;
        break;
    case ETIMEDOUT:
        code = 'Z';
        text = "timeout; closing connection";
        break;
    default:
        break;
    }
    if (text) {
        log_line("%ld: package refused: %s; closing connection (nothing "
                 "queued)", s->pid, text);
        if (qmtpd_reply_cat(&r, code, text) == 0)
            (void)qmtpd_write(s->out, r.s, r.len, s->conf->timeout);
        dstr_free(&r);
    } else if (err == ENODATA) {
        log_line("%ld: connection closed inside a package (%s): nothing "
                 "queued", s->pid, where);
    } else {
        errno = err;
        log_errno("%ld: read error inside a package (%s)", s->pid, where);
    }
    s->state = QMTP_ST_CLOSE;
}

static void evaluate_sender(qmtp_session *s)
{
    qmtpd_addr *a = &s->sender;

    s->envelope.len = 0;
    if (a->bad)
        s->sender_flaw = S_SYNTAX;
    else if (a->toolong)
        s->sender_flaw = S_TOOLONG;
    else if (qmtpd_badmailfrom(s->conf, a->addr, a->len))
        s->sender_flaw = S_BADMAILFROM;
    else
        s->sender_flaw = S_OK;
    if (s->sender_flaw == S_OK &&
        (dstr_catc(&s->envelope, 'F') == -1 ||
         dstr_catb(&s->envelope, a->addr, a->len + 1) == -1))
        s->sender_flaw = S_SYNTAX; /* out of memory: refuse, not crash */
}

/* The relay rule and recipient check for one recipient: its verdict. */
static char check_rcpt(qmtp_session *s, const qmtpd_addr *a)
{
    const qmtpd_conf *c = s->conf;
    char addr[QUEUE_ADDR_MAX + 1];
    char why[600];
    const char *at;
    size_t alen = a->len;
    int r;

    if (s->nrcpt > c->maxrcpt)
        return V_TOOMANY;
    if (a->bad || a->len == 0)
        return V_SYNTAX;
    if (a->toolong)
        return V_TOOLONG;
    memcpy(addr, a->addr, alen + 1);
    at = strrchr(addr, '@');
    if (!at) {
        /* a bare "postmaster" is always accepted, as in SMTP; qmail-send
         * qualifies it with envnoathost */
        if (alen == 10 && strncasecmp(addr, "postmaster", 10) == 0)
            goto accept;
        if (!c->relayclient)
            return V_RELAY;
    }
    if (c->relayclient) {
        size_t n = c->relayclient_value.len;
        if (n > QUEUE_ADDR_MAX - alen)
            return V_TOOLONG;
        memcpy(addr + alen, c->relayclient_value.s, n + 1);
        alen += n;
    } else {
        r = rcpthosts_match(&c->rcpthosts, at + 1,
                            alen - (size_t)(at + 1 - addr));
        if (r == -1) {
            log_errno("%ld: unable to read %s", s->pid,
                      RCPTCHECK_MORERCPTHOSTS);
            return V_CONFIG;
        }
        if (r == 0) {
            log_line("%ld: rcpt <%s> refused: relaying denied (domain not "
                     "in rcpthosts)", s->pid, addr);
            return V_RELAY;
        }
    }
    if (c->rcptcheck && strchr(addr, '@')) {
        r = rcptcheck_local(&c->route, addr, why, sizeof why);
        if (r == -1)
            return V_NOMEM;
        if (r != RCPTCHECK_OK) {
            log_line("%ld: rcpt <%s> %s: %s", s->pid, addr,
                     r == RCPTCHECK_UNKNOWN ? "refused" : "deferred", why);
            return r == RCPTCHECK_UNKNOWN ? V_UNKNOWN : V_LOOKUP;
        }
    }
accept:
    if (dstr_catc(&s->envelope, 'T') == -1 ||
        dstr_catb(&s->envelope, addr, alen + 1) == -1)
        return V_NOMEM;
    s->naccepted++;
    return V_ACCEPTED;
}

static int read_rcpts(qmtp_session *s)
{
    unsigned long long len;
    int r = qmtpd_netstr_header(s->in, QMTPD_RCPTLIST_MAX, &len);

    if (r != 1) {
        fail(s, r == 0 ? ENODATA : errno, "recipient list");
        return -1;
    }
    qmtpd_enter(s->in, len);
    for (;;) {
        char v;
        qmtpd_addr_init(&s->rcpt);
        r = qmtpd_netstr(s->in, QMTPD_ADDR_NETSTR_MAX, qmtpd_addr_sink,
                         &s->rcpt);
        if (r == 0 && qmtpd_why_none(s->in)) {
            fail(s, ENODATA, "recipient list");
            return -1;
        }
        if (r == 0)
            break;
        if (r == -1) {
            fail(s, errno, "recipient");
            return -1;
        }
        s->nrcpt++;
        if (s->nrcpt > s->conf->maxrcpt)
            continue; /* V_TOOMANY: counted, not stored (reply() knows) */
        v = check_rcpt(s, &s->rcpt);
        if (dstr_catc(&s->verdicts, v) == -1) {
            fail(s, ENOMEM, "recipient");
            return -1;
        }
    }
    if (qmtpd_leave(s->in) == -1) {
        fail(s, errno, "recipient list");
        return -1;
    }
    return 0;
}

static const char *verdict_text(char v)
{
    switch (v) {
    case V_SYNTAX: return "bad recipient address syntax";
    case V_TOOLONG: return "recipient address too long";
    case V_TOOMANY: return "too many recipients";
    case V_RELAY: return "relaying denied: this server does not accept "
                         "mail for that domain";
    case V_UNKNOWN: return "no such user here";
    case V_LOOKUP: return "temporary failure looking up the recipient; "
                          "try again later";
    case V_CONFIG: return "temporary configuration error; try again later";
    default: return "out of memory; try again later";
    }
}

static char verdict_code(char v)
{
    switch (v) {
    case V_SYNTAX: case V_TOOLONG: case V_RELAY: case V_UNKNOWN:
        return 'D';
    default:
        return 'Z';
    }
}

/* Write the replies gathered so far, before deadline.  0, or -1 (logged,
 * the session closes). */
static int send_replies(qmtp_session *s, time_t deadline)
{
    time_t left = deadline - time(0);

    if (left <= 0 ||
        qmtpd_write(s->out, s->replies.s, s->replies.len,
                    left > s->conf->timeout ? s->conf->timeout
                                            : (int)left) == -1) {
        if (left <= 0)
            errno = ETIMEDOUT;
        log_errno("%ld: unable to send replies", s->pid);
        s->state = QMTP_ST_CLOSE;
        return -1;
    }
    s->replies.len = 0;
    return 0;
}

/* The package is complete: queue it (or not) and answer every recipient. */
static void reply(qmtp_session *s)
{
    char pkgcode = 0, okcode = 'K', flawbuf[128], okbuf[160];
    const char *pkgtext = 0, *oktext = okbuf;
    unsigned long i;
    time_t deadline;

    if (s->sender_flaw != S_OK) {
        pkgcode = 'D';
        pkgtext = s->sender_flaw == S_BADMAILFROM
                      ? "sender refused by this server's policy"
                  : s->sender_flaw == S_TOOLONG ? "sender address too long"
                                                : "bad sender address syntax";
    } else if (s->msg.flaw != QMTPD_MSG_OK) {
        pkgcode = s->msg.flaw == QMTPD_MSG_NOQUEUE ? 'Z' : 'D';
        pkgtext = qmtpd_msg_flaw_text(&s->msg, flawbuf, sizeof flawbuf);
    }
    if (pkgcode || s->naccepted == 0) {
        qmtpd_msg_abort(&s->msg);
        log_line("%ld: message from <%s> not queued: %s (%lu recipient%s)",
                 s->pid, s->sender.addr,
                 pkgtext ? pkgtext : "no recipient accepted", s->nrcpt,
                 s->nrcpt == 1 ? "" : "s");
    } else if (dstr_catc(&s->envelope, 0) == -1) {
        qmtpd_msg_abort(&s->msg);
        pkgcode = 'Z';
        pkgtext = "out of memory; try again later";
    } else {
        int code = qmtpd_msg_finish(&s->msg, &s->envelope);
        pid_t qp = s->msg.qp;
        okcode = qverdict(code, s->msg.qq.failed, &oktext);
        if (okcode == QVERDICT_OK) {
            s->queued++;
            snprintf(okbuf, sizeof okbuf, "ok %lld qp %ld",
                     (long long)time(0), (long)qp);
            oktext = okbuf;
            log_line("%ld: message accepted: from <%s>, %lu of %lu "
                     "recipient%s, %llu bytes, qp %ld", s->pid,
                     s->sender.addr, s->naccepted, s->nrcpt,
                     s->nrcpt == 1 ? "" : "s", s->msg.bytes, (long)qp);
        } else {
            log_line("%ld: message from <%s> %s: qmail-queue exit %d: %s",
                     s->pid, s->sender.addr,
                     okcode == QVERDICT_PERM ? "refused" : "not queued",
                     code, oktext);
            if (okcode == QVERDICT_TEMP) {
                snprintf(okbuf, sizeof okbuf, "%s; try again later", oktext);
                oktext = okbuf;
            }
        }
    }
    /* one reply per recipient, in order, written in pieces within one
     * deadline for them all */
    deadline = time(0) + s->conf->timeout;
    s->replies.len = 0;
    for (i = 0; i < s->nrcpt; i++) {
        char v = i < s->verdicts.len ? s->verdicts.s[i] : V_TOOMANY;
        int r;
        if (v != V_ACCEPTED)
            r = qmtpd_reply_cat(&s->replies, verdict_code(v),
                                verdict_text(v));
        else if (pkgcode)
            r = qmtpd_reply_cat(&s->replies, pkgcode, pkgtext);
        else
            r = qmtpd_reply_cat(&s->replies, okcode, oktext);
        if (r == -1) {
            log_line("%ld: out of memory building replies", s->pid);
            s->state = QMTP_ST_CLOSE;
            return;
        }
        if ((s->replies.len >= QMTPD_REPLY_CHUNK || i + 1 == s->nrcpt) &&
            send_replies(s, deadline) == -1)
            return;
    }
    s->state = QMTP_ST_MESSAGE;
}

unsigned long qmtpd_qmtp_run(const qmtpd_conf *c, qmtpd_in *in, int outfd)
{
    qmtp_session *s = &session;
    unsigned long long before;
    int r;

    s->conf = c;
    s->in = in;
    s->out = outfd;
    s->pid = (long)getpid();
    s->state = QMTP_ST_MESSAGE;
    s->queued = 0;
    log_line("%ld: connect from %s%s%s%s", s->pid,
             *c->remoteip ? c->remoteip : "unknown",
             *c->remotehost ? " (" : "", c->remotehost,
             *c->remotehost ? ")" : "");
    while (s->state != QMTP_ST_CLOSE) {
        switch (s->state) {
        case QMTP_ST_MESSAGE:
            s->nrcpt = s->naccepted = 0;
            s->verdicts.len = 0;
            s->envelope.len = 0;
            qmtpd_addr_init(&s->sender);
            qmtpd_msg_init(&s->msg, c, "QMTP", QMTPD_ENC_UNKNOWN);
            before = in->consumed;
            r = qmtpd_netstr(in, qmtpd_msg_max(c, 1), qmtpd_msg_sink,
                             &s->msg);
            if (r == 0) {
                s->state = QMTP_ST_CLOSE; /* the client is done */
                break;
            }
            if (r == -1 && errno == ETIMEDOUT && in->consumed == before) {
                /* idle between packages: no package is waiting for an
                 * answer, and a reply now would be taken as the answer to
                 * the client's next one */
                log_line("%ld: timeout waiting for a package; closing "
                         "connection", s->pid);
                s->state = QMTP_ST_CLOSE;
                break;
            }
            if (r == -1) {
                fail(s, errno, "message");
                break;
            }
            qmtpd_msg_end(&s->msg);
            s->state = QMTP_ST_SENDER;
            break;
        case QMTP_ST_SENDER:
            r = qmtpd_netstr(in, QMTPD_ADDR_NETSTR_MAX, qmtpd_addr_sink,
                             &s->sender);
            if (r != 1) {
                fail(s, r == 0 ? ENODATA : errno, "sender");
                break;
            }
            evaluate_sender(s);
            s->state = QMTP_ST_RCPTS;
            break;
        case QMTP_ST_RCPTS:
            if (read_rcpts(s) == 0)
                s->state = QMTP_ST_REPLY;
            break;
        case QMTP_ST_REPLY:
            reply(s);
            break;
        case QMTP_ST_CLOSE:
            break;
        }
    }
    qmtpd_msg_abort(&s->msg);
    log_line("%ld: end of connection: %lu message%s queued", s->pid,
             s->queued, s->queued == 1 ? "" : "s");
    dstr_free(&s->verdicts);
    dstr_free(&s->envelope);
    dstr_free(&s->replies);
    return s->queued;
}
