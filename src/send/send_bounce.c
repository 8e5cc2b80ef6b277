/*
 * send_bounce.c: tell the sender which recipients failed, as an RFC 3464
 * delivery status notification (multipart/report) whose first part says
 * it in plain words, and whose last part is the original message.
 *
 * The bounce goes through qmail-queue like any message, with the null
 * envelope sender so it can never bounce back and forth.
 */
#include "send_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "date822.h"
#include "dstr.h"
#include "log.h"
#include "qqueue.h"

/* An enhanced status code "c.s.d" at p (RFC 3463: class 2, 4 or 5, then
 * 1-3 and 1-3 digits); returns its length or 0. */
static size_t enhanced_at(const char *p)
{
    size_t n = 1, d;

    if (p[0] != '4' && p[0] != '5' && p[0] != '2')
        return 0;
    for (d = 0; d < 2; d++) {
        size_t k = 0;
        if (p[n] != '.')
            return 0;
        n++;
        while (k < 3 && p[n] >= '0' && p[n] <= '9') {
            n++;
            k++;
        }
        if (k == 0)
            return 0;
    }
    return (p[n] >= '0' && p[n] <= '9') ? 0 : n;
}

/* The status for a failed recipient: "(#5.1.1)" in our own reasons, else
 * the first enhanced code in the remote server's reply ("550 5.1.1 ...");
 * default 5.0.0.  The class is always 5: it failed for good. */
static void status_of(const char *reason, char *out, size_t size)
{
    const char *p = reason ? strstr(reason, "(#") : 0;
    size_t n = 0;

    if (!p && reason) {
        const char *q;
        for (q = reason; *q; q++) {
            size_t len = (q == reason || q[-1] == ' ') ? enhanced_at(q) : 0;
            if (len && len < size) {
                memcpy(out, q, len);
                out[len] = 0;
                out[0] = '5';
                return;
            }
        }
    }

    if (p && (p[2] == '4' || p[2] == '5')) {
        p += 2;
        while (n + 1 < size && p[n] && p[n] != ')' &&
               ((p[n] >= '0' && p[n] <= '9') || p[n] == '.'))
            n++;
        if (p[n] == ')' && n >= 5) {
            memcpy(out, p, n);
            out[n] = 0;
            out[0] = '5'; /* it failed for good, whatever it said */
            return;
        }
    }
    snprintf(out, size, "5.0.0");
}

/* Append text on one line: CR and LF become spaces. */
static int cat_oneline(dstr *d, const char *s)
{
    for (; *s; s++)
        if (dstr_catc(d, *s == '\n' || *s == '\r' ? ' ' : *s) == -1)
            return -1;
    return 0;
}

static int compose_head(dstr *b, struct send_msg *m, const char *to,
                        const char *me, const char *from,
                        const char *boundary)
{
    size_t i;
    char status[32];
    time_t now = time(0);

    if (dstr_catf(b, "From: %s\nTo: %s\nSubject: failure notice\nDate: ",
                  from, to) == -1 ||
        date822_cat(b, now) == -1 ||
        dstr_catf(b, "\nMessage-ID: <bounce.%s@%s>\nMIME-Version: 1.0\n"
                     "Content-Type: multipart/report; "
                     "report-type=delivery-status;\n boundary=\"%s\"\n"
                     "Auto-Submitted: auto-replied\n\n"
                     "This is a MIME delivery status notification.\n\n"
                     "--%s\nContent-Type: text/plain; charset=utf-8\n\n"
                     "This is the mail system at %s.\n\n"
                     "Your message could not be delivered to the recipients "
                     "below. This is a\npermanent error: the mail system has "
                     "given up. The message is attached.\n\n",
                  m->id, me, boundary, boundary, me) == -1)
        return -1;
    for (i = 0; i < m->env.nrcpts; i++) {
        const char *why = m->reason[i] ? m->reason[i]
                                       : m->env.rcpts[i].reason;
        if (m->env.rcpts[i].state != 'B')
            continue;
        if (dstr_catf(b, "<%s>:\n", m->env.rcpts[i].addr) == -1 ||
            cat_oneline(b, why ? why : "delivery failed") == -1 ||
            dstr_cats(b, "\n\n") == -1)
            return -1;
    }
    if (dstr_catf(b, "--%s\nContent-Type: message/delivery-status\n\n"
                     "Reporting-MTA: dns; %s\nArrival-Date: ",
                  boundary, me) == -1 ||
        date822_cat(b, (time_t)(m->arrival_us / 1000000)) == -1 ||
        dstr_cats(b, "\n") == -1)
        return -1;
    for (i = 0; i < m->env.nrcpts; i++) {
        const char *why = m->reason[i] ? m->reason[i]
                                       : m->env.rcpts[i].reason;
        if (m->env.rcpts[i].state != 'B')
            continue;
        status_of(why, status, sizeof status);
        if (dstr_catf(b, "\nFinal-Recipient: rfc822; %s\nAction: failed\n"
                         "Status: %s\nDiagnostic-Code: x-qmail; ",
                      m->env.rcpts[i].addr, status) == -1 ||
            cat_oneline(b, why ? why : "delivery failed") == -1 ||
            dstr_cats(b, "\n") == -1)
            return -1;
    }
    return dstr_catf(b, "\n--%s\nContent-Type: message/rfc822\n"
                        "Content-Transfer-Encoding: 8bit\n\n",
                     boundary);
}

int send_bounce(struct send_msg *m, const char *to, const char *envfrom,
                const char *bindir, const char *me, const char *bouncefrom,
                const char *bouncehost)
{
    static qqueue q;
    dstr head = DSTR_ZERO, tail = DSTR_ZERO, env = DSTR_ZERO,
         path = DSTR_ZERO, from = DSTR_ZERO, boundary = DSTR_ZERO;
    char prog[4096], buf[65536];
    uint64_t left;
    int fd = -1, r = -1, code;

    if (dstr_catf(&from, "%s@%s", bouncefrom, bouncehost) == -1 ||
        dstr_cat0(&from) == -1 ||
        dstr_catf(&boundary, "=_qmail-bounce-%s", m->id) == -1 ||
        dstr_cat0(&boundary) == -1 ||
        compose_head(&head, m, to, me, from.s, boundary.s) == -1 ||
        dstr_catf(&tail, "\n--%s--\n", boundary.s) == -1 ||
        dstr_catc(&env, 'F') == -1 || dstr_cats(&env, envfrom) == -1 ||
        dstr_catc(&env, 0) == -1 ||
        dstr_catc(&env, 'T') == -1 || dstr_cats(&env, to) == -1 ||
        dstr_catc(&env, 0) == -1 || dstr_catc(&env, 0) == -1 ||
        queue_mess_path(&path, m->id) == -1) {
        log_errno("warning: unable to compose bounce for msg %s", m->id);
        goto out;
    }
    fd = open(path.s, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || lseek(fd, QUEUE_HDR_LEN, SEEK_SET) == -1) {
        log_errno("warning: unable to read %s for its bounce", path.s);
        goto out;
    }
    /* bounces go to qmail-queue itself, never through $QMAILQUEUE */
    snprintf(prog, sizeof prog, "%s/qmail-queue", bindir);
    /* bounded: a hung qmail-queue must not stop the scheduler (a killed
     * one is a failed bounce, tried again later) */
    if (qqueue_start(&q, prog, 1200) == -1) {
        log_errno("warning: unable to run %s for a bounce", prog);
        goto out;
    }
    qqueue_put(&q, head.s, head.len);
    for (left = m->env.msglen; left > 0;) {
        ssize_t n = read(fd, buf, left < sizeof buf ? (size_t)left
                                                     : sizeof buf);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            qqueue_abort(&q);
            log_line("warning: unable to read %s for its bounce", path.s);
            goto out;
        }
        qqueue_put(&q, buf, (size_t)n);
        left -= (uint64_t)n;
    }
    qqueue_put(&q, tail.s, tail.len);
    code = qqueue_finish(&q, env.s, env.len);
    if (code != 0 || q.failed)
        log_line("warning: unable to queue bounce for msg %s: qmail-queue: "
                 "%s",
                 m->id, code <= 255 ? queue_exit_text(code) : "crashed");
    else
        r = 0;
out:
    if (fd != -1)
        close(fd);
    dstr_free(&head);
    dstr_free(&tail);
    dstr_free(&env);
    dstr_free(&path);
    dstr_free(&from);
    dstr_free(&boundary);
    return r;
}
