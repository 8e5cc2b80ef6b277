/*
 * local_mbox.c: append to an mbox file.
 *
 * Format (mboxrd): a "From SENDER DATE" line, the prefix, the message with
 * every line that matches ^>*From  quoted by one more '>', and an empty
 * line.  The file is locked with fcntl() for the whole append; on any
 * failure it is cut back to its old size, so a reader never sees half a
 * message.  fsync()ed before success.
 */
#include "local_deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "local_msg.h"
#include "sig.h"

#define MBOX_LOCK_TIMEOUT 30

static void lock_alarm(int sig) { (void)sig; }

struct quoter {
    char out[65536 + 64];
    size_t n;
    int fd;
    int atstart;    /* at the start of a line */
    char pend[64];  /* ">>>From" candidate bytes held back */
    size_t npend;
};

static int q_flush(struct quoter *q)
{
    if (q->n && fd_write_all(q->fd, q->out, q->n, 0) == -1)
        return -1;
    q->n = 0;
    return 0;
}

static int q_put(struct quoter *q, const char *p, size_t len)
{
    if (q->n + len > sizeof q->out && q_flush(q) == -1)
        return -1;
    if (len > sizeof q->out)
        return fd_write_all(q->fd, p, len, 0);
    memcpy(q->out + q->n, p, len);
    q->n += len;
    return 0;
}

/* Feed message bytes, quoting ^>*From lines. */
static int q_feed(struct quoter *q, const char *p, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        char c = p[i];
        if (q->npend || q->atstart) {
            /* still deciding whether this line starts with >*From  */
            size_t gt = 0;
            while (gt < q->npend && q->pend[gt] == '>')
                gt++;
            q->pend[q->npend++] = c;
            q->atstart = 0;
            if (c == '>' && gt == q->npend - 1 && q->npend < sizeof q->pend)
                continue; /* more '>' */
            {
                size_t k = q->npend - gt; /* bytes after the '>'s */
                if (k <= 5 && memcmp(q->pend + gt, "From ", k) == 0) {
                    if (k < 5)
                        continue; /* matches so far */
                    if (q_put(q, ">", 1) == -1)
                        return -1;
                }
            }
            if (q_put(q, q->pend, q->npend) == -1)
                return -1;
            q->npend = 0;
            if (c == '\n')
                q->atstart = 1;
            continue;
        }
        if (q_put(q, &c, 1) == -1)
            return -1;
        if (c == '\n')
            q->atstart = 1;
    }
    return 0;
}

int local_mbox(const char *path, const char *sender, const char *prefix,
               char *why, size_t whysize, int *perm)
{
    static struct quoter q;
    char buf[65536], date[64];
    struct flock fl;
    struct stat st;
    time_t now = time(0);
    struct tm tm;
    off_t oldsize;
    int fd, err;
    long r;

    *perm = 0;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd == -1) {
        err = errno;
        snprintf(why, whysize, "unable to open mbox %s: %s (#4.2.1)", path,
                 strerror(err));
        return -1;
    }
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    sig_catch(SIGALRM, lock_alarm); /* no SA_RESTART: F_SETLKW returns */
    alarm(MBOX_LOCK_TIMEOUT);
    if (fcntl(fd, F_SETLKW, &fl) == -1) {
        err = errno;
        alarm(0);
        close(fd);
        snprintf(why, whysize, "unable to lock mbox %s: %s (#4.2.1)", path,
                 err == EINTR ? "timed out" : strerror(err));
        return -1;
    }
    alarm(0);
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        close(fd);
        snprintf(why, whysize, "mbox %s is not a plain file (#4.2.1)", path);
        return -1;
    }
    oldsize = st.st_size;

    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    memset(&q, 0, sizeof q);
    q.fd = fd;
    q.atstart = 1;
    if (q_put(&q, "From ", 5) == -1 ||
        q_put(&q, *sender ? sender : "MAILER-DAEMON",
              strlen(*sender ? sender : "MAILER-DAEMON")) == -1 ||
        q_put(&q, " ", 1) == -1 || q_put(&q, date, strlen(date)) == -1 ||
        q_put(&q, "\n", 1) == -1 || q_feed(&q, prefix, strlen(prefix)) == -1)
        goto fail;
    local_msg_rewind();
    while ((r = local_msg_read(buf, sizeof buf)) > 0)
        if (q_feed(&q, buf, (size_t)r) == -1)
            goto fail;
    if (r == -1)
        goto fail;
    if (q.npend && q_put(&q, q.pend, q.npend) == -1)
        goto fail;
    /* end the last line, then the empty separator line */
    if ((!q.atstart && q_put(&q, "\n", 1) == -1) || q_put(&q, "\n", 1) == -1)
        goto fail;
    if (q_flush(&q) == -1 || fsync(fd) == -1)
        goto fail;
    close(fd); /* releases the lock */
    snprintf(why, whysize, "%s", path);
    return 0;
fail:
    err = errno;
    if (ftruncate(fd, oldsize) == -1) {
        /* nothing more we can do; the lock is released by close */
    }
    close(fd);
    if (err == ENOSPC || err == EDQUOT)
        snprintf(why, whysize, "mbox %s: disk full or over quota (#4.3.0)",
                 path);
    else
        snprintf(why, whysize, "unable to write mbox %s: %s (#4.2.1)", path,
                 strerror(err));
    return -1;
}
