/*
 * qmtpd_pkg.c: message, addresses and replies of a package.  See
 * qmtpd_pkg.h.
 *
 * Trusts nothing from the client: the message is only counted, decoded
 * and copied; addresses reach an envelope only when they hold no control
 * byte and fit QUEUE_ADDR_MAX.
 */
#include "qmtpd_pkg.h"
#include "rcptcheck.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "control.h"
#include "log.h"
#include "netstr.h"
#include "received.h"

void qmtpd_msg_init(qmtpd_msg *m, const qmtpd_conf *c, const char *proto,
                    int encoding)
{
    m->conf = c;
    m->proto = proto;
    m->encoding = encoding;
    m->pending_cr = 0;
    m->started = 0;
    m->flaw = QMTPD_MSG_OK;
    m->bytes = 0;
    m->qp = 0;
}

/* Start qmail-queue and give it our Received line. */
static void start(qmtpd_msg *m)
{
    const qmtpd_conf *c = m->conf;
    dstr prog = DSTR_ZERO, rcvd = DSTR_ZERO;

    if (qqueue_program(&prog) == -1 ||
        qqueue_start(&m->qq, prog.s, c->timeout) == -1) {
        log_errno("unable to start %s", prog.s ? prog.s : "qmail-queue");
        m->flaw = QMTPD_MSG_NOQUEUE;
        dstr_free(&prog);
        return;
    }
    dstr_free(&prog);
    m->started = 1;
    m->qp = m->qq.qp;
    if (received_line(&rcvd, 0, c->remotehost, c->remoteip, c->me.s,
                      m->proto, time(0)) == -1) {
        qmtpd_msg_abort(m);
        m->flaw = QMTPD_MSG_NOQUEUE;
        return;
    }
    qqueue_put(&m->qq, rcvd.s, rcvd.len);
    dstr_free(&rcvd);
}

/* Decoded bytes: count them, and queue them while the message is fine. */
static void emit(qmtpd_msg *m, const char *data, size_t n)
{
    if (n == 0)
        return;
    m->bytes += n;
    if (m->flaw != QMTPD_MSG_OK)
        return;
    if (m->conf->databytes && m->bytes > m->conf->databytes) {
        /* read on to the end of the package, but queue nothing */
        m->flaw = QMTPD_MSG_TOOBIG;
        qmtpd_msg_abort(m);
        return;
    }
    if (!m->started) {
        start(m);
        if (!m->started)
            return;
    }
    qqueue_put(&m->qq, data, n);
}

int qmtpd_msg_sink(void *ctx, const char *data, size_t n)
{
    qmtpd_msg *m = ctx;
    size_t i, k = 0;

    if (n == 0)
        return 0;
    if (m->encoding == QMTPD_ENC_UNKNOWN) {
        m->encoding = (data[0] == '\r' || data[0] == '\n') ? data[0]
                                                           : QMTPD_ENC_BAD;
        if (m->encoding == QMTPD_ENC_BAD) {
            m->flaw = QMTPD_MSG_BADENC;
            qmtpd_msg_abort(m);
        }
        data++;
        n--;
        if (m->flaw == QMTPD_MSG_OK && !m->started)
            start(m);
    }
    if (m->encoding != QMTPD_ENC_CRLF) {
        emit(m, data, n);
        return 0;
    }
    /* encoding #1: every CR LF becomes LF; other bytes stay as they are
     * (a lone CR or LF makes the message "unsafe", which the protocol
     * lets us keep unchanged) */
    for (i = 0; i < n; i++) {
        char ch = data[i];
        if (k >= sizeof m->out - 2) { /* room for a CR and a byte */
            emit(m, m->out, k);
            k = 0;
        }
        if (m->pending_cr) {
            m->pending_cr = 0;
            if (ch != '\n')
                m->out[k++] = '\r';
        }
        if (ch == '\r') {
            m->pending_cr = 1;
            continue;
        }
        m->out[k++] = ch;
    }
    emit(m, m->out, k);
    return 0;
}

void qmtpd_msg_end(qmtpd_msg *m)
{
    if (m->pending_cr) {
        m->pending_cr = 0;
        emit(m, "\r", 1);
    }
    if (m->encoding == QMTPD_ENC_UNKNOWN && m->flaw == QMTPD_MSG_OK)
        m->flaw = QMTPD_MSG_EMPTY;
    if (m->flaw == QMTPD_MSG_OK && !m->started)
        start(m); /* an empty QMQP message, or just the encoding byte */
}

int qmtpd_msg_finish(qmtpd_msg *m, const dstr *envelope)
{
    int code;

    m->started = 0;
    code = qqueue_finish(&m->qq, envelope->s, envelope->len);
    m->qp = m->qq.qp; /* qmail-queued's child's, known only now */
    return code;
}

void qmtpd_msg_abort(qmtpd_msg *m)
{
    if (m->started)
        qqueue_abort(&m->qq);
    m->started = 0;
}

const char *qmtpd_msg_flaw_text(const qmtpd_msg *m, char *buf, size_t size)
{
    switch (m->flaw) {
    case QMTPD_MSG_OK:
        return "ok";
    case QMTPD_MSG_EMPTY:
        return "message refused: it is empty, without even the encoding "
               "byte";
    case QMTPD_MSG_BADENC:
        return "message refused: unknown encoding (the first byte must be "
               "LF or CR)";
    case QMTPD_MSG_TOOBIG:
        snprintf(buf, size, "message too big: the limit is %llu bytes",
                 m->conf->databytes);
        return buf;
    case QMTPD_MSG_NOQUEUE:
        return "unable to queue messages now; try again later";
    }
    return "?";
}

void qmtpd_addr_init(qmtpd_addr *a)
{
    a->addr[0] = 0;
    a->len = 0;
    a->toolong = 0;
    a->bad = 0;
}

int qmtpd_addr_sink(void *ctx, const char *data, size_t n)
{
    qmtpd_addr *a = ctx;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch < 32 || ch == 127)
            a->bad = 1;
        if (a->len >= QUEUE_ADDR_MAX) {
            a->toolong = 1;
            continue;
        }
        a->addr[a->len++] = (char)ch;
    }
    a->addr[a->len] = 0;
    return 0;
}

int qmtpd_reply_cat(dstr *out, char code, const char *text)
{
    size_t n = strlen(text);

    if (netstr_cat_len(out, n + 1) == -1 || dstr_catc(out, code) == -1 ||
        dstr_catb(out, text, n) == -1 || dstr_catc(out, ',') == -1)
        return -1;
    return 0;
}

int qmtpd_badmailfrom(const qmtpd_conf *c, const char *addr, size_t len)
{
    /* shared with qmail-smtpd: rcptcheck.c */
    return badmailfrom_match(&c->badmailfrom, addr, len);
}
