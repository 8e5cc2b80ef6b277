/*
 * remote_smtp.c: the SMTP client session.  See remote_smtp.h.
 * The states follow one another in a fixed order (greeting, hello,
 * envelope, data, message, end of data, quit); each step either moves on
 * or ends the session with the outcome it found.
 */
#include "remote_smtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bio.h"
#include "remote_enc.h"
#include "remote_path.h"
#include "remote_reply.h"

#define CHUNK 65536

typedef struct session {
    int fd;
    const char *who;
    remote_job *job;
    remote_in in;
    remote_reply reply;
    dstr cmd;
    dstr text;
    unsigned ext;
    char *accepted;         /* per recipient: RCPT got 2xx */
    size_t naccepted;
} session;

unsigned remote_smtp_extensions(const remote_reply *ehlo)
{
    unsigned ext = 0;
    size_t i = 0;
    int first = 1;

    while (i < ehlo->text.len) {
        const char *line = ehlo->text.s + i;
        const char *nl = memchr(line, '\n', ehlo->text.len - i);
        size_t len = nl ? (size_t)(nl - line) : ehlo->text.len - i;
        const char *kw = line + 4;
        size_t kwlen = 0;

        i += len + 1;
        if (first || len <= 4) { /* the first line is the greeting */
            first = 0;
            continue;
        }
        while (kwlen < len - 4 && kw[kwlen] != ' ')
            kwlen++;
        if (kwlen == 10 && strncasecmp(kw, "PIPELINING", 10) == 0)
            ext |= REMOTE_EXT_PIPELINING;
        else if (kwlen == 4 && strncasecmp(kw, "SIZE", 4) == 0)
            ext |= REMOTE_EXT_SIZE;
        else if (kwlen == 8 && strncasecmp(kw, "8BITMIME", 8) == 0)
            ext |= REMOTE_EXT_8BITMIME;
    }
    return ext;
}

/* What an I/O error means, for record texts. */
static const char *io_text(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return "timed out";
    case ECONNRESET:
    case EPIPE:
        return "connection closed";
    case EPROTO:
        return "malformed reply";
    case ENOMEM:
        return "out of memory";
    default:
        return strerror(err);
    }
}

/* text = who ": " what */
static int say(session *s, const char *what)
{
    s->text.len = 0;
    if (remote_out_texts(&s->text, s->who) == -1 ||
        remote_out_texts(&s->text, " ") == -1 ||
        remote_out_texts(&s->text, what) == -1)
        return -1;
    return 0;
}

/* text = who " " what ". Remote host said: " reply */
static int say_reply(session *s, const char *what)
{
    if (say(s, what) == -1 ||
        remote_out_texts(&s->text, ". Remote host said: ") == -1 ||
        remote_out_reply(&s->text, &s->reply) == -1)
        return -1;
    return 0;
}

/* text = who " " what ": " error " (#code)" */
static int say_io(session *s, const char *what, int err, const char *code)
{
    if (say(s, what) == -1 || remote_out_texts(&s->text, ": ") == -1 ||
        remote_out_texts(&s->text, io_text(err)) == -1 ||
        remote_out_texts(&s->text, " (#") == -1 ||
        remote_out_texts(&s->text, code) == -1 ||
        remote_out_texts(&s->text, ")") == -1)
        return -1;
    return 0;
}

static char reply_status(const remote_reply *r)
{
    int c = remote_reply_class(r);
    return c == 2 ? 'K' : c == 5 ? 'D' : 'Z';
}

static int send_cmd(session *s)
{
    return fd_write_all(s->fd, s->cmd.s, s->cmd.len, s->job->timeout);
}

static int read_reply(session *s, int timeout)
{
    return remote_reply_read(&s->in, &s->reply, timeout);
}

/* Set every undecided recipient (accepted_only: those accepted at RCPT)
 * to status with the current text. */
static int decide_all(session *s, char status, int accepted_only)
{
    size_t i;

    for (i = 0; i < s->job->nrcpts; i++) {
        if (s->job->out[i].status)
            continue;
        if (accepted_only && !s->accepted[i])
            continue;
        if (remote_outcome_set(&s->job->out[i], status, &s->text) == -1)
            return -1;
    }
    return 0;
}

static void quit(session *s)
{
    int wait = s->job->timeout < REMOTE_SMTP_QUIT_WAIT
                   ? s->job->timeout
                   : REMOTE_SMTP_QUIT_WAIT;

    if (fd_write_all(s->fd, "QUIT\r\n", 6, wait) == 0)
        read_reply(s, wait);
}

/* Greeting and EHLO/HELO.  Returns REMOTE_SMTP_DONE to go on, a NEXT_*
 * code with s->text set, or -1. */
static int hello(session *s)
{
    int c;

    if (read_reply(s, s->job->timeout) == -1)
        return say_io(s, "did not greet me", errno, "4.4.2") == -1
                   ? -1
                   : REMOTE_SMTP_NEXT_TEMP;
    c = remote_reply_class(&s->reply);
    if (c != 2) {
        if (say_reply(s, "greeted me with an error") == -1)
            return -1;
        quit(s);
        return c == 5 ? REMOTE_SMTP_NEXT_PERM : REMOTE_SMTP_NEXT_TEMP;
    }
    s->cmd.len = 0;
    if (dstr_cats(&s->cmd, "EHLO ") == -1 ||
        dstr_cats(&s->cmd, s->job->helohost) == -1 ||
        dstr_cats(&s->cmd, "\r\n") == -1)
        return -1;
    if (send_cmd(s) == -1 || read_reply(s, s->job->timeout) == -1)
        return say_io(s, "failed after the greeting", errno, "4.4.2") == -1
                   ? -1
                   : REMOTE_SMTP_NEXT_TEMP;
    c = remote_reply_class(&s->reply);
    if (c == 2) {
        s->ext = remote_smtp_extensions(&s->reply);
        return REMOTE_SMTP_DONE;
    }
    if (c != 5) {
        if (say_reply(s, "refused EHLO") == -1)
            return -1;
        quit(s);
        return REMOTE_SMTP_NEXT_TEMP;
    }
    /* no ESMTP: say HELO */
    s->cmd.len = 0;
    if (dstr_cats(&s->cmd, "HELO ") == -1 ||
        dstr_cats(&s->cmd, s->job->helohost) == -1 ||
        dstr_cats(&s->cmd, "\r\n") == -1)
        return -1;
    if (send_cmd(s) == -1 || read_reply(s, s->job->timeout) == -1)
        return say_io(s, "failed after EHLO", errno, "4.4.2") == -1
                   ? -1
                   : REMOTE_SMTP_NEXT_TEMP;
    c = remote_reply_class(&s->reply);
    if (c == 2) {
        s->ext = 0;
        return REMOTE_SMTP_DONE;
    }
    if (say_reply(s, "refused HELO") == -1)
        return -1;
    quit(s);
    return c == 5 ? REMOTE_SMTP_NEXT_PERM : REMOTE_SMTP_NEXT_TEMP;
}

static int cat_mail(session *s)
{
    const remote_msg *m = s->job->msg;

    if (dstr_cats(&s->cmd, "MAIL FROM:") == -1 ||
        remote_path_cat(&s->cmd, s->job->sender) == -1)
        return -1;
    if ((s->ext & REMOTE_EXT_SIZE) &&
        (dstr_cats(&s->cmd, " SIZE=") == -1 ||
         dstr_catulong(&s->cmd, m->size) == -1))
        return -1;
    if ((s->ext & REMOTE_EXT_8BITMIME) && m->eightbit &&
        dstr_cats(&s->cmd, " BODY=8BITMIME") == -1)
        return -1;
    return dstr_cats(&s->cmd, "\r\n");
}

static int cat_rcpt(session *s, size_t i)
{
    if (dstr_cats(&s->cmd, "RCPT TO:") == -1 ||
        remote_path_cat(&s->cmd, s->job->rcpts[i]) == -1)
        return -1;
    return dstr_cats(&s->cmd, "\r\n");
}

/* The outcome of one RCPT reply for recipient i. */
static int rcpt_reply(session *s, size_t i)
{
    char st = reply_status(&s->reply);

    if (st == 'K') {
        s->accepted[i] = 1;
        s->naccepted++;
        return 0;
    }
    if (s->reply.code == 552)
        st = 'Z';
    if (say_reply(s, "does not like recipient") == -1)
        return -1;
    return remote_outcome_set(&s->job->out[i], st, &s->text);
}

/* MAIL and RCPTs.  Returns 0 to go on with DATA, 1 when the session is
 * over (everything decided; the connection may be gone), NEXT_TEMP (as
 * a negative: -2) when MAIL got no reply, or -1. */
static int envelope(session *s)
{
    size_t group = (s->ext & REMOTE_EXT_PIPELINING) ? REMOTE_SMTP_GROUP : 1;
    size_t next = 0;    /* next recipient to send */
    int mail_sent = 0, mail_failed = 0;

    while (!mail_sent || next < s->job->nrcpts) {
        size_t order[REMOTE_SMTP_GROUP + 1];
        size_t n = 0, k;

        s->cmd.len = 0;
        if (!mail_sent) {
            if (cat_mail(s) == -1)
                return -1;
            order[n++] = (size_t)-1;
            mail_sent = 1;
        }
        for (; next < s->job->nrcpts && n < group; next++) {
            if (s->job->out[next].status)
                continue; /* decided before (an invalid address) */
            if (cat_rcpt(s, next) == -1)
                return -1;
            order[n++] = next;
        }
        if (n == 0)
            break;
        if (send_cmd(s) == -1) {
            int err = errno;
            if (order[0] == (size_t)-1) {
                if (say_io(s, "failed after HELO", err, "4.4.2") == -1)
                    return -1;
                return -2;
            }
            if (say_io(s, "failed during RCPT", err, "4.4.2") == -1 ||
                decide_all(s, 'Z', 0) == -1)
                return -1;
            return 1;
        }
        for (k = 0; k < n; k++) {
            if (read_reply(s, s->job->timeout) == -1) {
                int err = errno;
                if (order[k] == (size_t)-1) {
                    if (say_io(s, "failed after MAIL", err, "4.4.2") == -1)
                        return -1;
                    return -2;
                }
                if (mail_failed)
                    return 1;
                if (say_io(s, "failed after RCPT", err, "4.4.2") == -1 ||
                    decide_all(s, 'Z', 0) == -1)
                    return -1;
                return 1;
            }
            if (order[k] == (size_t)-1) {
                char st = reply_status(&s->reply);
                if (st == 'K')
                    continue;
                mail_failed = 1;
                if (say_reply(s, "does not like sender") == -1 ||
                    decide_all(s, st, 0) == -1)
                    return -1;
                continue; /* read the RCPT replies of this group */
            }
            if (!mail_failed && rcpt_reply(s, order[k]) == -1)
                return -1;
        }
        if (mail_failed) {
            quit(s);
            return 1;
        }
    }
    if (s->naccepted == 0) {
        quit(s);
        return 1;
    }
    return 0;
}

/* Send the message; 0, or -1 with errno (ENOMEM, or an I/O error). */
static int send_message(session *s)
{
    const remote_msg *m = s->job->msg;
    char *in = malloc(CHUNK), *out = malloc(REMOTE_ENC_ROOM(CHUNK));
    remote_enc enc;
    uint64_t off = 0;
    size_t o;
    int r = -1, saved;

    if (!in || !out)
        goto done;
    remote_enc_init(&enc);
    while (off < m->len) {
        long got = remote_msg_read(m, off, in, CHUNK);
        if (got <= 0)
            goto done;
        off += (uint64_t)got;
        o = remote_enc_feed(&enc, in, (size_t)got, out);
        if (fd_write_all(s->fd, out, o, s->job->timeout) == -1)
            goto done;
    }
    o = remote_enc_finish(&enc, out);
    if (fd_write_all(s->fd, out, o, s->job->timeout) == -1)
        goto done;
    r = 0;
done:
    saved = errno;
    free(in);
    free(out);
    errno = saved;
    return r;
}

/* DATA, the message, the reply to the dot.  Returns 0 or -1. */
static int data(session *s)
{
    char st;

    s->cmd.len = 0;
    if (dstr_cats(&s->cmd, "DATA\r\n") == -1)
        return -1;
    if (send_cmd(s) == -1 || read_reply(s, s->job->timeout) == -1)
        return say_io(s, "failed on DATA command", errno, "4.4.2") == -1
                   ? -1
                   : decide_all(s, 'Z', 1);
    if (s->reply.code != 354) {
        st = reply_status(&s->reply);
        if (st == 'K')
            st = 'Z'; /* 2xx to DATA makes no sense: try again later */
        if (say_reply(s, "failed on DATA command") == -1 ||
            decide_all(s, st, 1) == -1)
            return -1;
        quit(s);
        return 0;
    }
    if (send_message(s) == -1) {
        int err = errno;
        if (err == ENOMEM)
            return -1;
        /* a server that refuses in the middle of the data (too big, a
         * virus) often says why before it hangs up: take its word */
        if ((err == EPIPE || err == ECONNRESET) &&
            read_reply(s, REMOTE_SMTP_QUIT_WAIT) == 0 &&
            remote_reply_class(&s->reply) >= 4) {
            st = reply_status(&s->reply);
            return say_reply(s, "failed while I sent the message") == -1
                       ? -1
                       : decide_all(s, st, 1);
        }
        return say_io(s, "failed while I sent the message", err,
                      "4.4.2") == -1
                   ? -1
                   : decide_all(s, 'Z', 1);
    }
    if (read_reply(s, s->job->timeout) == -1)
        return say_io(s,
                      "failed after I sent the message (it may have been "
                      "delivered: this delivery will be tried again)",
                      errno, "4.4.2") == -1
                   ? -1
                   : decide_all(s, 'Z', 1);
    st = reply_status(&s->reply);
    if (say_reply(s, st == 'K' ? "accepted the message"
                               : "failed after I sent the message") == -1 ||
        decide_all(s, st, 1) == -1)
        return -1;
    quit(s);
    return 0;
}

int remote_smtp(int fd, const char *who, remote_job *job, dstr *why)
{
    session s;
    int r;

    memset(&s, 0, sizeof s);
    s.fd = fd;
    s.who = who;
    s.job = job;
    remote_in_init(&s.in, fd);
    s.accepted = calloc(job->nrcpts ? job->nrcpts : 1, 1);
    if (!s.accepted) {
        close(fd);
        return -1;
    }
    r = hello(&s);
    if (r == REMOTE_SMTP_DONE) {
        r = envelope(&s);
        if (r == 0)
            r = data(&s);
        if (r == -2)
            r = REMOTE_SMTP_NEXT_TEMP;
        else if (r >= 0)
            r = REMOTE_SMTP_DONE;
    }
    if ((r == REMOTE_SMTP_NEXT_TEMP || r == REMOTE_SMTP_NEXT_PERM) &&
        dstr_copy(why, &s.text) == -1)
        r = -1;
    close(fd);
    free(s.accepted);
    dstr_free(&s.cmd);
    dstr_free(&s.text);
    remote_reply_free(&s.reply);
    return r;
}
