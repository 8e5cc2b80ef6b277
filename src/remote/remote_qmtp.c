/*
 * remote_qmtp.c: the QMTP client session.  See remote_qmtp.h.
 * Two steps: send the package, then read one response per recipient.
 */
#include "remote_qmtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "netstr.h"

#define CHUNK 65536

static const char *io_text(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return "timed out";
    case ECONNRESET:
    case EPIPE:
    case ENODATA:
        return "connection closed";
    case EPROTO:
        return "malformed response";
    case EMSGSIZE:
        return "response too long";
    case ENOMEM:
        return "out of memory";
    default:
        return strerror(err);
    }
}

/* text = who " " what ": " error " (#4.4.2)" */
static int say_io(dstr *text, const char *who, const char *what, int err)
{
    text->len = 0;
    if (remote_out_texts(text, who) == -1 ||
        remote_out_texts(text, " ") == -1 ||
        remote_out_texts(text, what) == -1 ||
        remote_out_texts(text, ": ") == -1 ||
        remote_out_texts(text, io_text(err)) == -1 ||
        remote_out_texts(text, " (#4.4.2)") == -1)
        return -1;
    return 0;
}

/* The envelope part of the package: sender and recipient list.  order
 * gets the index of each recipient sent. */
static int envelope(const remote_job *job, dstr *out, size_t *order,
                    size_t *n)
{
    dstr list = DSTR_ZERO;
    size_t i;
    int r = -1;

    *n = 0;
    for (i = 0; i < job->nrcpts; i++) {
        if (job->out[i].status)
            continue; /* decided before (an invalid address) */
        if (netstr_cats(&list, job->rcpts[i]) == -1)
            goto done;
        order[(*n)++] = i;
    }
    if (netstr_cats(out, job->sender) == -1 ||
        netstr_cat(out, list.s, list.len) == -1)
        goto done;
    r = 0;
done:
    dstr_free(&list);
    return r;
}

/* Write the package.  0, or -1 with errno (ENOMEM, or an I/O error). */
static int send_package(int fd, const remote_job *job, const dstr *env)
{
    const remote_msg *m = job->msg;
    dstr head = DSTR_ZERO;
    char *buf = malloc(CHUNK);
    uint64_t off = 0;
    int r = -1, saved;

    if (!buf)
        goto done;
    /* the message in the LF form: 0x0a, then the lines as queued */
    if (netstr_cat_len(&head, m->len + 1) == -1 ||
        dstr_catc(&head, '\n') == -1)
        goto done;
    if (fd_write_all(fd, head.s, head.len, job->timeout) == -1)
        goto done;
    while (off < m->len) {
        long got = remote_msg_read(m, off, buf, CHUNK);
        if (got <= 0) {
            if (got == 0)
                errno = EPROTO;
            goto done;
        }
        if (fd_write_all(fd, buf, (size_t)got, job->timeout) == -1)
            goto done;
        off += (uint64_t)got;
    }
    if (fd_write_all(fd, ",", 1, job->timeout) == -1 ||
        fd_write_all(fd, env->s, env->len, job->timeout) == -1)
        goto done;
    r = 0;
done:
    saved = errno;
    dstr_free(&head);
    free(buf);
    errno = saved;
    return r;
}

/* Read the responses for the n recipients in order. */
static int responses(int fd, const char *who, remote_job *job,
                     const size_t *order, size_t n)
{
    char inbuf[4096];
    bio in;
    dstr resp = DSTR_ZERO, text = DSTR_ZERO;
    size_t k;
    int r = -1;

    bio_init(&in, fd, inbuf, sizeof inbuf, job->timeout);
    for (k = 0; k < n; k++) {
        remote_outcome *o = &job->out[order[k]];
        int got = netstr_read(&in, &resp, REMOTE_QMTP_REPLY_MAX);
        char st;

        if (got == 1 && (resp.len == 0 || (resp.s[0] != 'K' &&
                                           resp.s[0] != 'Z' &&
                                           resp.s[0] != 'D'))) {
            got = -1;
            errno = EPROTO;
        }
        if (got != 1) {
            int err = got == 0 ? ECONNRESET : errno;
            size_t j;
            if (err == ENOMEM)
                goto done;
            if (say_io(&text, who,
                       "failed after I sent the message (it may have been "
                       "delivered: this delivery will be tried again)",
                       err) == -1)
                goto done;
            for (j = k; j < n; j++)
                if (remote_outcome_set(&job->out[order[j]], 'Z', &text) == -1)
                    goto done;
            break;
        }
        st = resp.s[0];
        text.len = 0;
        if (remote_out_texts(&text, who) == -1 ||
            remote_out_texts(&text, st == 'K'
                                        ? " accepted the message over QMTP."
                                        : " refused the message over QMTP.") ==
                -1 ||
            remote_out_texts(&text, " Remote host said: ") == -1 ||
            remote_out_text(&text, resp.s + 1, resp.len - 1) == -1 ||
            remote_outcome_set(o, st, &text) == -1)
            goto done;
    }
    r = 0;
done:
    dstr_free(&resp);
    dstr_free(&text);
    return r;
}

int remote_qmtp(int fd, const char *who, remote_job *job, dstr *why)
{
    dstr env = DSTR_ZERO;
    size_t *order = calloc(job->nrcpts ? job->nrcpts : 1, sizeof *order);
    size_t n;
    int r = -1;

    if (!order || envelope(job, &env, order, &n) == -1)
        goto done;
    if (n == 0) {
        r = REMOTE_SMTP_DONE;
        goto done;
    }
    if (send_package(fd, job, &env) == -1) {
        if (errno == ENOMEM ||
            say_io(why, who, "failed while I sent the message", errno) == -1)
            goto done;
        r = REMOTE_SMTP_NEXT_TEMP;
        goto done;
    }
    if (responses(fd, who, job, order, n) == -1)
        goto done;
    r = REMOTE_SMTP_DONE;
done:
    close(fd);
    free(order);
    dstr_free(&env);
    return r;
}
