/*
 * queue_write.c: the queue writer shared by qmail-queue and qmail-queued.
 * See queue_write.h.
 *
 * Every read has the caller's deadline (poll() before read(), so a
 * descriptor a client made non-blocking changes nothing); a message that
 * does not arrive in time is refused with QQ_TIMEOUT.  After the reads
 * nothing waits on the caller.
 */
#include "queue_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "bio.h"
#include "date822.h"
#include "dstr.h"
#include "file.h"
#include "log.h"
#include "queue.h"
#include "timeutil.h"

typedef struct qw_state {
    const qwrite_caller *who;
    int64_t deadline; /* time_mono_ms(), 0: none */
    char tmppath[128];
    int tmp_created;
    int fd;
} qw_state;

/* A failure: remove our temp file, log, return the exit code. */
static int fail(qw_state *st, int code, int with_errno, const char *what)
{
    int e = errno;

    if (st->tmp_created)
        unlink(st->tmppath);
    st->tmp_created = 0;
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    errno = e;
    if (with_errno)
        log_errno("%s%s: %s", st->who->tag, what, queue_exit_text(code));
    else
        log_line("%s%s: %s", st->who->tag, what, queue_exit_text(code));
    return code;
}

/* read() with the deadline: bytes (>0), 0 at end of file, -1 with errno
 * (ETIMEDOUT when the deadline passed). */
static long read_deadline(qw_state *st, int fd, char *buf, size_t n)
{
    for (;;) {
        ssize_t r;
        if (st->deadline) {
            struct pollfd p;
            int64_t left = st->deadline - time_mono_ms();
            int k;
            if (left <= 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            p.fd = fd;
            p.events = POLLIN;
            p.revents = 0;
            k = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
            if (k == -1 && errno != EINTR)
                return -1;
            if (k <= 0)
                continue;
        }
        r = read(fd, buf, n);
        if (r >= 0)
            return (long)r;
        if (errno != EINTR && errno != EAGAIN)
            return -1;
    }
}

static int read_code(int e)
{
    return e == ETIMEDOUT ? QQ_TIMEOUT : e == ENOMEM ? QQ_NOMEM : QQ_READ;
}

/* Copy the message to our file, counting its bytes. */
static int copy_message(qw_state *st, int msgfd, uint64_t *count)
{
    char buf[65536];

    for (;;) {
        long r = read_deadline(st, msgfd, buf, sizeof buf);
        if (r == 0)
            return 0;
        if (r == -1)
            return fail(st, read_code(errno), 1, "read message");
        if (fd_write_all(st->fd, buf, (size_t)r, 0) == -1)
            return fail(st, QQ_WRITE, 1, "write message");
        *count += (uint64_t)r;
    }
}

/*
 * Read and check the envelope, appending it to env.  Grammar:
 * "F" addr NUL ("T" addr NUL)* NUL, each addr at most QUEUE_ADDR_MAX bytes.
 * Reads stop at the final NUL.
 */
static int read_envelope(qw_state *st, int envfd, dstr *env)
{
    char buf[4096];
    size_t pos = 0, len = 0, nrcpts = 0, reclen = 0;
    int first = 1;

    for (;;) {
        char c;
        if (pos == len) {
            long r = read_deadline(st, envfd, buf, sizeof buf);
            if (r == -1)
                return fail(st, read_code(errno), 1, "read envelope");
            if (r == 0)
                return fail(st, QQ_ENVELOPE, 0, "envelope ends early");
            pos = 0;
            len = (size_t)r;
        }
        c = buf[pos++];
        if (reclen == 0 && c == 0) { /* the final empty record */
            if (first)
                return fail(st, QQ_ENVELOPE, 0, "envelope has no sender");
            break;
        }
        if (reclen == 0 && (first ? c != 'F' : c != 'T'))
            return fail(st, QQ_ENVELOPE, 0,
                        first ? "envelope does not start with F"
                              : "envelope record is not T");
        if (reclen > 0 && c != 0 && ((unsigned char)c < 32 || c == 127))
            /* control characters would reach header lines (Return-Path,
             * bounces), mbox From lines and logs: refuse them */
            return fail(st, QQ_ENVELOPE, 0,
                        "control character in an envelope address");
        if (c != 0 && reclen > QUEUE_ADDR_MAX)
            return fail(st, QQ_ADDR_TOO_LONG, 0,
                        "envelope address longer than 1000 bytes");
        if (env->len + 1 > QUEUE_ENV_MAX)
            return fail(st, QQ_ENVELOPE, 0, "envelope too large");
        if (dstr_catc(env, c) == -1)
            return fail(st, QQ_NOMEM, 0, "envelope");
        reclen++;
        if (c == 0) { /* end of a record */
            if (!first && ++nrcpts > QUEUE_RCPT_MAX)
                return fail(st, QQ_ENVELOPE, 0, "too many recipients");
            first = 0;
            reclen = 0;
        }
    }
    /* Anything after the final NUL that came with it is a protocol error
     * (fail closed). */
    if (pos < len)
        return fail(st, QQ_ENVELOPE, 0, "data after the end of the envelope");
    return 0;
}

/*
 * Reuse: qmail-clean moves finished files, emptied, to free/ (see
 * qmail-clean.c).  Claiming one instead of creating tmp/ID saves the
 * inode allocation.  A file is claimed by renaming it to tmp/ID (atomic:
 * of several writers trying the same file one wins, the others get
 * ENOENT), so from then on it is ours exactly as a created file is, and
 * debris if we die.  It must look exactly like a file we would have
 * created: regular, one link, ours, empty, mode 0640 (both writers run
 * with umask 027) and tmp/'s group.  Only when free/ is owned by our
 * euid: then nobody else could have put anything there (root aside).
 * Returns an open, locked descriptor with tmp_created set, or -1 (nothing
 * claimed, nothing left behind unless a claimed thing could not be
 * removed; the create path then fails as usual).
 */
#define CLAIM_TRIES 4
#define CLAIM_SCAN 64

/* Check free/NAME before claiming it: 0 usable, -1 not (removed when it
 * is a leftover of ours: full after a crash, or otherwise not usable). */
static int claim_ok(const struct stat *s, uid_t uid, gid_t gid)
{
    return S_ISREG(s->st_mode) && s->st_nlink == 1 && s->st_uid == uid &&
                   s->st_gid == gid && s->st_size == 0 &&
                   (s->st_mode & 07777) == 0640
               ? 0
               : -1;
}

static int claim_free(qw_state *st)
{
    struct stat fs, ts, s;
    uid_t uid = geteuid();
    gid_t gid;
    char from[sizeof "free/" + 256];
    struct dirent *e;
    DIR *d;
    long skip, seen = 0, tries = 0, scanned = 0;
    int fd = -1, pass;

    if (stat("free", &fs) == -1 || !S_ISDIR(fs.st_mode) || fs.st_uid != uid ||
        (fs.st_mode & 022) || stat("tmp", &ts) == -1)
        return -1;
    gid = (ts.st_mode & S_ISGID) ? ts.st_gid : getegid();
    d = opendir("free");
    if (!d)
        return -1;
    skip = (long)(getpid() % 16);
    /* pass 0 takes the names from the skip-th on, pass 1 the ones before */
    for (pass = 0; pass < 2 && fd == -1 && tries < CLAIM_TRIES; pass++) {
        if (pass == 1) {
            if (skip == 0 || seen <= 0)
                break;
            rewinddir(d);
        }
        seen = 0;
        while (fd == -1 && tries < CLAIM_TRIES && scanned < CLAIM_SCAN &&
               (e = readdir(d))) {
            if (!queue_id_valid(e->d_name))
                continue;
            if (pass == 0 ? seen++ < skip : seen++ >= skip)
                continue;
            scanned++;
            snprintf(from, sizeof from, "free/%s", e->d_name);
            if (lstat(from, &s) == -1)
                continue; /* another writer took it */
            if (claim_ok(&s, uid, gid) == -1) {
                if (!S_ISDIR(s.st_mode))
                    unlink(from); /* never used; only ours can be here */
                continue;
            }
            tries++;
            /* never over an existing tmp/ID (the create's O_EXCL) */
            if (renameat2(AT_FDCWD, from, AT_FDCWD, st->tmppath,
                          RENAME_NOREPLACE) == -1) {
                if (errno == ENOENT)
                    continue; /* another writer won it */
                tries = CLAIM_TRIES; /* EEXIST, EINVAL: create instead */
                break;
            }
            st->tmp_created = 1;
            fd = open(st->tmppath,
                      O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (fd == -1 || fstat(fd, &s) == -1 ||
                claim_ok(&s, uid, gid) == -1 || fcntl(fd, F_SETFL, 0) == -1 ||
                flock(fd, LOCK_EX) == -1 ||
                /* qmail-clean's debris sweep removes unlocked tmp/ files
                 * over a minute old, and this one may be: now that we hold
                 * the lock it cannot, but it may have before */
                stat(st->tmppath, &ts) == -1 || ts.st_dev != s.st_dev ||
                ts.st_ino != s.st_ino) {
                if (fd != -1)
                    close(fd);
                fd = -1;
                if (unlink(st->tmppath) == 0 || errno == ENOENT)
                    st->tmp_created = 0;
                tries = CLAIM_TRIES; /* something is odd: create instead */
                break;
            }
        }
    }
    closedir(d);
    if (fd == -1 && st->tmp_created)
        st->tmp_created = 0; /* could not remove it: the create will say */
    return fd;
}

/* Poke qmail-send.  Best effort: if nobody listens, it finds the message
 * when it (re)starts or on its next scan. */
static void trigger(const char *id)
{
    char line[QUEUE_ID_MAX + 2];
    size_t n = strlen(id);
    int fd = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd == -1)
        return;
    memcpy(line, id, n);
    line[n] = '\n';
    if (write(fd, line, n + 1) == -1) {
        /* full or no reader: the periodic scan will find it */
    }
    close(fd);
}

int qwrite(int msgfd, int envfd, const qwrite_caller *who)
{
    char id[QUEUE_ID_MAX];
    char hdr[QUEUE_HDR_LEN];
    struct timeval tv;
    dstr received = DSTR_ZERO, env = DSTR_ZERO, mess = DSTR_ZERO;
    uint64_t msglen = 0;
    qw_state st;
    int r;

    memset(&st, 0, sizeof st);
    st.who = who;
    st.fd = -1;
    st.deadline = who->timeout > 0
                      ? time_mono_ms() + (int64_t)who->timeout * 1000
                      : 0;

    gettimeofday(&tv, 0);
    snprintf(id, sizeof id, "%lld.%06ld.%ld", (long long)tv.tv_sec,
             (long)tv.tv_usec, (long)getpid());
    snprintf(st.tmppath, sizeof st.tmppath, "tmp/%s", id);

    st.fd = claim_free(&st);
    if (st.fd == -1) {
        st.fd = open(st.tmppath,
                     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (st.fd == -1) {
            r = fail(&st, QQ_QUEUE_INTD, 1, st.tmppath);
            goto out;
        }
        st.tmp_created = 1;
        if (flock(st.fd, LOCK_EX) == -1) {
            r = fail(&st, QQ_QUEUE_INTD, 1, "lock temporary file");
            goto out;
        }
    }

    /* Header placeholder, then our Received line. */
    memset(hdr, ' ', sizeof hdr);
    hdr[sizeof hdr - 1] = '\n';
    if (fd_write_all(st.fd, hdr, sizeof hdr, 0) == -1) {
        r = fail(&st, QQ_WRITE, 1, "write header");
        goto out;
    }
    if (dstr_catf(&received, "Received: (%s %ld invoked by uid %ld); ",
                  who->prog, who->pid, who->uid) == -1 ||
        date822_cat(&received, tv.tv_sec) == -1 ||
        dstr_catc(&received, '\n') == -1) {
        r = fail(&st, QQ_NOMEM, 0, "Received line");
        goto out;
    }
    if (fd_write_all(st.fd, received.s, received.len, 0) == -1) {
        r = fail(&st, QQ_WRITE, 1, "write message");
        goto out;
    }
    msglen = received.len;

    if ((r = copy_message(&st, msgfd, &msglen)) != 0 ||
        (r = read_envelope(&st, envfd, &env)) != 0)
        goto out;

    if (fd_write_all(st.fd, env.s, env.len, 0) == -1) {
        r = fail(&st, QQ_WRITE, 1, "write envelope");
        goto out;
    }
    queue_hdr_format(hdr, msglen, (uint64_t)tv.tv_sec);
    if (pwrite(st.fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) {
        r = fail(&st, QQ_WRITE, 1, "write header");
        goto out;
    }
    if (fsync(st.fd) == -1) {
        r = fail(&st, QQ_WRITE, 1, "fsync message");
        goto out;
    }
    if (queue_mess_path(&mess, id) == -1) {
        r = fail(&st, QQ_NOMEM, 0, "message path");
        goto out;
    }
    if (renameat2(AT_FDCWD, st.tmppath, AT_FDCWD, mess.s,
                  RENAME_NOREPLACE) == -1) {
        if (errno != EINVAL) {
            r = fail(&st, QQ_QUEUE_MESS, 1, mess.s);
            goto out;
        }
        /* file system without RENAME_NOREPLACE: link refuses to replace */
        if (link(st.tmppath, mess.s) == -1) {
            r = fail(&st, QQ_QUEUE_MESS, 1, mess.s);
            goto out;
        }
        unlink(st.tmppath);
    }
    st.tmp_created = 0;
    if (file_fsync_parent(mess.s) == -1) {
        /* Not known to be durable, so the caller must not be told it is.
         * The file stays: qmail-send may already have seen it, and taking
         * it back could strand it; the caller's retry can at worst
         * deliver it twice. */
        r = fail(&st, QQ_WRITE, 1, "fsync queue directory");
        goto out;
    }
    close(st.fd);
    st.fd = -1;
    trigger(id);
    r = QQ_OK;
out:
    dstr_free(&received);
    dstr_free(&env);
    dstr_free(&mess);
    return r;
}
