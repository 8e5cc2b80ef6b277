/*
 * smtpd_msg.c: DATA.  The message is decoded as it arrives (smtpd_data)
 * and streamed to qmail-queue behind our Received line; the envelope
 * follows at the end.  The reply to the final dot is qmail-queue's
 * verdict: 250 only once it exited 0, so nothing is acknowledged that is
 * not safely queued.
 *
 * A message with a flaw (too big, bare CR or LF, NUL, an overlong line) is
 * read to its real end, <CRLF>.<CRLF>, and refused; its qmail-queue is
 * killed before it gets an envelope, so nothing of it is queued.
 *
 * Trusts nothing from the client; memory stays at the fixed buffers.
 */
#include "smtpd_session.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "queue.h"
#include "qverdict.h"
#include "smtpd_data.h"

/* Refuse a flawed message: the reply and the log line. */
static void refuse(smtpd_session *s, const smtpd_data *d)
{
    const char *why, *reply;

    if (d->flags & SMTPD_DATA_TOOBIG) {
        log_line("%ld: message from <%s> refused: over databytes (%llu)",
                 s->pid, s->sender.s, s->conf->databytes);
        smtpd_reply_err(s, "552 5.3.4 message too big: the limit is %llu "
                           "bytes", s->conf->databytes);
        return;
    }
    if (d->flags & SMTPD_DATA_BARELF) {
        why = "bare LF";
        reply = "550 5.6.0 message refused: bare LF (lines must end in "
                "CRLF, RFC 5321 2.3.8)";
    } else if (d->flags & SMTPD_DATA_BARECR) {
        why = "bare CR";
        reply = "550 5.6.0 message refused: bare CR (lines must end in "
                "CRLF, RFC 5321 2.3.8)";
    } else if (d->flags & SMTPD_DATA_NUL) {
        why = "NUL byte";
        reply = "554 5.6.0 message refused: it contains a NUL byte";
    } else {
        why = "line over 1000 bytes";
        reply = "554 5.6.0 message refused: a line is longer than 1000 "
                "bytes (RFC 5321 4.5.3.1.6)";
    }
    log_line("%ld: message from <%s> refused: %s", s->pid, s->sender.s, why);
    smtpd_reply_err(s, "%s", reply);
}

/* Read the message to its end.  Returns 1 at the end, 0 if the session
 * ended (EOF, timeout: already handled). */
static int read_message(smtpd_session *s, smtpd_data *d)
{
    smtpd_io *io = s->io;
    int64_t deadline = smtpd_io_deadline(io);
    unsigned long long lines = 0;

    for (;;) {
        size_t used, out;

        if (io->pos == io->len) {
            long r = smtpd_io_fill(io, deadline);
            if (r <= 0) {
                if (r == 0) {
                    log_line("%ld: connection closed during DATA", s->pid);
                    smtpd_session_abort(s, "connection closed during DATA");
                } else if (errno == ETIMEDOUT) {
                    log_line("%ld: %s during DATA", s->pid,
                             io->session_over ? "session time limit"
                                              : "timeout");
                    smtpd_reply(s, "421 4.4.2 %s %s; closing connection",
                                s->conf->me.s,
                                io->session_over ? "session time limit reached"
                                                 : "timeout");
                    smtpd_session_abort(s, io->session_over
                                               ? "session time limit"
                                               : "timeout");
                } else {
                    smtpd_session_abort(s, "read error");
                }
                return 0;
            }
        }
        used = smtpd_data_feed(d, io->in + io->pos, io->len - io->pos,
                               s->dataout, &out);
        io->pos += used;
        if (!d->flags) /* a flawed message is only read, not queued */
            qqueue_put(&s->qq, s->dataout, out);
        if (d->lines != lines) {
            /* each line gets its own deadline */
            lines = d->lines;
            deadline = smtpd_io_deadline(io);
        }
        if (d->done)
            return 1;
    }
}

static void verdict(smtpd_session *s, int code, pid_t qp,
                    unsigned long long size)
{
    const char *text;
    /* the mapping is shared with qmail-qmtpd and qmail-qmqpd */
    char v = qverdict(code, s->qq.failed, &text);

    if (v == QVERDICT_OK) {
        s->messages++;
        log_line("%ld: message accepted: from <%s>, %lu recipient%s, %llu "
                 "bytes, qp %ld", s->pid, s->sender.s, s->nrcpt,
                 s->nrcpt == 1 ? "" : "s", size, (long)qp);
        smtpd_reply(s, "250 2.0.0 ok %lld qp %ld", (long long)time(0),
                    (long)qp);
        return;
    }
    log_line("%ld: message from <%s> %s: qmail-queue exit %d: %s", s->pid,
             s->sender.s, v == QVERDICT_PERM ? "refused" : "not queued", code,
             text);
    if (v == QVERDICT_PERM)
        smtpd_reply_err(s, "554 5.3.0 %s", text);
    else
        smtpd_reply(s, "451 4.3.0 %s; try again later", text);
}

void smtpd_do_data(smtpd_session *s)
{
    smtpd_conf *c = s->conf;
    smtpd_data d;
    dstr prog = DSTR_ZERO;
    int code;

    if (s->nrcpt == 0) {
        smtpd_reply_err(s, "554 5.5.1 no valid recipients");
        return;
    }
    if (qqueue_program(&prog) == -1 ||
        qqueue_start(&s->qq, prog.s, c->timeout) == -1) {
        log_errno("%ld: unable to start %s", s->pid,
                  prog.s ? prog.s : "qmail-queue");
        dstr_free(&prog);
        smtpd_reply(s, "451 4.3.0 unable to queue messages now; try again "
                       "later");
        return;
    }
    dstr_free(&prog);
    if (smtpd_received(&s->reply, s->helo, c->remotehost, c->remoteip,
                       c->me.s, s->esmtp ? "ESMTP" : "SMTP", time(0)) == -1) {
        qqueue_abort(&s->qq);
        smtpd_reply(s, "451 4.3.0 out of memory");
        smtpd_session_abort(s, "out of memory");
        return;
    }
    qqueue_put(&s->qq, s->reply.s, s->reply.len);
    smtpd_reply(s, "354 go ahead; end with <CRLF>.<CRLF>");
    smtpd_data_init(&d, c->databytes);
    if (!read_message(s, &d)) {
        qqueue_abort(&s->qq);
        return;
    }
    if (d.flags) {
        qqueue_abort(&s->qq);
        refuse(s, &d);
    } else {
        /* the envelope ends with an empty record */
        if (dstr_catc(&s->envelope, 0) == -1) {
            qqueue_abort(&s->qq);
            smtpd_reply(s, "451 4.3.0 out of memory");
            smtpd_session_abort(s, "out of memory");
            return;
        }
        code = qqueue_finish(&s->qq, s->envelope.s, s->envelope.len);
        verdict(s, code, s->qq.qp, d.size); /* known after finish */
    }
    smtpd_txn_reset(s);
}
