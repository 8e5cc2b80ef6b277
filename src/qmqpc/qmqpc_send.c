/*
 * qmqpc_send.c: one QMQP session.  See qmqpc_send.h.
 * Steps in order: connect, send the package, read the reply; each step
 * either goes on or ends the session with what it found.
 */
#include "qmqpc_send.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bio.h"
#include "netconn.h"
#include "netstr.h"
#include "timeutil.h"

#define CHUNK 65536

typedef struct session {
    int fd;
    int64_t end;            /* the whole session's deadline (monotonic ms) */
    int timeout;            /* per operation, seconds */
} session;

/* The deadline for the next read or write: the per-operation timeout,
 * cut to what is left of the session (at least 1 s; a session past its
 * end fails on the next check). */
static int op_timeout(const session *s)
{
    int64_t left = (s->end - time_mono_ms() + 999) / 1000;

    if (left < 1)
        left = 1;
    return left < s->timeout ? (int)left : s->timeout;
}

static int expired(const session *s)
{
    if (time_mono_ms() < s->end)
        return 0;
    errno = ETIMEDOUT;
    return 1;
}

static int put(session *s, const void *p, size_t n)
{
    if (expired(s))
        return -1;
    return fd_write_all(s->fd, p, n, op_timeout(s));
}

/* The package: outer header, message netstring (streamed from the spool
 * file), the envelope netstrings, the outer comma.  0 or -1 with errno. */
static int send_package(session *s, const qmqpc_job *job)
{
    dstr head = DSTR_ZERO;
    char *buf = 0;
    uint64_t off = 0;
    size_t inner;
    int r = -1, saved;

    /* the inner header's length, to know the outer one */
    if (netstr_cat_len(&head, job->msglen) == -1)
        goto done;
    inner = head.len;
    head.len = 0;
    if (netstr_cat_len(&head, inner + job->msglen + 1 + job->envelope->len) ==
            -1 ||
        netstr_cat_len(&head, job->msglen) == -1)
        goto done;
    if (put(s, head.s, head.len) == -1)
        goto done;
    buf = malloc(CHUNK);
    if (!buf)
        goto done;
    while (off < job->msglen) {
        size_t want = job->msglen - off < CHUNK ? (size_t)(job->msglen - off)
                                                : CHUNK;
        ssize_t got;
        do
            got = pread(job->msgfd, buf, want, (off_t)off);
        while (got == -1 && errno == EINTR);
        if (got <= 0) {
            if (got == 0)
                errno = EIO; /* the spool file shrank: cannot happen */
            goto done;
        }
        if (put(s, buf, (size_t)got) == -1)
            goto done;
        off += (uint64_t)got;
    }
    if (put(s, ",", 1) == -1 ||
        put(s, job->envelope->s, job->envelope->len) == -1 ||
        put(s, ",", 1) == -1)
        goto done;
    r = 0;
done:
    saved = errno;
    dstr_free(&head);
    free(buf);
    errno = saved;
    return r;
}

static const char *io_text(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return "timed out";
    case ECONNREFUSED:
        return "connection refused";
    case ECONNRESET:
    case EPIPE:
        return "connection closed";
    case ENODATA:
        return "connection closed before the whole reply";
    case EPROTO:
        return "reply is not a netstring";
    case EMSGSIZE:
        return "reply too long";
    default:
        return strerror(err);
    }
}

/* text = what ": " error */
static int say(dstr *text, const char *what, int err)
{
    text->len = 0;
    if (dstr_cats(text, what) == -1 || dstr_cats(text, ": ") == -1 ||
        dstr_cats(text, io_text(err)) == -1)
        return -1;
    return QMQPC_NO_ANSWER;
}

int qmqpc_send(const qmqpc_server *srv, const qmqpc_job *job, dstr *text)
{
    session s;
    bio in;
    char inbuf[1024];
    dstr reply = DSTR_ZERO;
    int r;

    s.end = time_mono_ms() + (int64_t)QMQPC_SESSION_MAX * 1000;
    s.timeout = job->timeout;
    s.fd = netconn_connect((const struct sockaddr *)&srv->addr, srv->addrlen,
                           0, 0, job->timeoutconnect);
    if (s.fd == -1)
        return say(text, "cannot connect", errno);
    if (send_package(&s, job) == -1) {
        int err = errno;
        close(s.fd);
        return err == ENOMEM ? -1 : say(text, "failed while sending", err);
    }
    bio_init(&in, s.fd, inbuf, sizeof inbuf, op_timeout(&s));
    r = netstr_read(&in, &reply, QMQPC_REPLY_MAX);
    if (r != 1) {
        int err = r == 0 ? ECONNRESET : errno;
        close(s.fd);
        dstr_free(&reply);
        if (err == ENOMEM)
            return -1;
        return say(text, r == 0 ? "no reply" : "bad reply", err);
    }
    close(s.fd);
    if (reply.len == 0 ||
        (reply.s[0] != 'K' && reply.s[0] != 'Z' && reply.s[0] != 'D')) {
        dstr_free(&reply);
        text->len = 0;
        return dstr_cats(text, "bad reply: not K, Z or D") == -1
                   ? -1
                   : QMQPC_NO_ANSWER;
    }
    r = reply.s[0];
    if (dstr_copyb(text, reply.s + 1, reply.len - 1) == -1)
        r = -1;
    dstr_free(&reply);
    return r;
}
