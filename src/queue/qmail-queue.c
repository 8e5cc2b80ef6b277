/*
 * qmail-queue: put one message into the queue, durably.
 *
 * Protocol (qmail's): the message on fd 0, read to end of file; then the
 * envelope on fd 1: "F" sender NUL, "T" recipient NUL for each recipient,
 * and a final NUL.  Exit 0 means the message is on disk, fsync()ed, and
 * visible to qmail-send; any other exit code (queue.h, qmail-queue(8))
 * means nothing was queued.
 *
 * Steps: write queue/tmp/ID (flock()ed, so a reader can tell a live writer
 * from debris) as header placeholder + Received line + message + envelope;
 * fill in the header; fsync; rename to queue/mess/NN/ID without replacing
 * anything; fsync that directory; exit 0 after poking qmail-send through
 * queue/lock/trigger.
 *
 * Trust: the message and the envelope come from any local user (or from
 * network servers) and are checked: addresses are bounded, the envelope
 * grammar is exact, and nothing of either is interpreted.  Runs as the
 * caller, or setuid qmailq in a root install; it opens no file named by
 * its input.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "date822.h"
#include "dstr.h"
#include "file.h"
#include "log.h"
#include "qhome.h"
#include "queue.h"

#define QQ_DEADLINE (24 * 3600) /* a whole injection may take a day */

static char tmppath[128];
static int tmp_created;

/* Every failure path goes through here: remove our temp file, exit code. */
static _Noreturn void die(int code, const char *what)
{
    if (tmp_created)
        unlink(tmppath);
    if (what)
        log_line("fatal: %s: %s", what, queue_exit_text(code));
    _exit(code);
}

static _Noreturn void die_errno(int code, const char *what)
{
    if (tmp_created)
        unlink(tmppath);
    log_errno("fatal: %s: %s", what, queue_exit_text(code));
    _exit(code);
}

static void on_alarm(int sig)
{
    (void)sig;
    if (tmp_created)
        unlink(tmppath);
    _exit(QQ_TIMEOUT);
}

static int write_all(int fd, const char *p, size_t n)
{
    return fd_write_all(fd, p, n, 0);
}

/* Copy fd 0 to out; returns the number of bytes copied through *count. */
static void copy_message(int out, uint64_t *count)
{
    char buf[65536];

    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0)
            return;
        if (r == -1) {
            if (errno == EINTR)
                continue;
            die_errno(QQ_READ, "read message");
        }
        if (write_all(out, buf, (size_t)r) == -1)
            die_errno(QQ_WRITE, "write message");
        *count += (uint64_t)r;
    }
}

/*
 * Read and check the envelope from fd 1, appending it to env.  Grammar:
 * "F" addr NUL ("T" addr NUL)* NUL, each addr at most QUEUE_ADDR_MAX bytes.
 */
static void read_envelope(dstr *env, size_t *nrcpts)
{
    char buf[4096];
    bio in;
    dstr rec = DSTR_ZERO;
    int first = 1;

    bio_init(&in, 1, buf, sizeof buf, 0);
    *nrcpts = 0;
    for (;;) {
        int toolong = 0;
        int r;

        rec.len = 0;
        r = bio_getsep(&in, &rec, 0, QUEUE_ADDR_MAX + 2, &toolong);
        if (r == -1)
            die_errno(errno == ENOMEM ? QQ_NOMEM : QQ_READ, "read envelope");
        if (toolong)
            die(QQ_ADDR_TOO_LONG, "envelope address longer than 1000 bytes");
        if (r == 0 || rec.len == 0 || rec.s[rec.len - 1] != 0)
            die(QQ_ENVELOPE, "envelope ends early");
        if (rec.len == 1) { /* the final empty record */
            if (first)
                die(QQ_ENVELOPE, "envelope has no sender");
            break;
        }
        if (first ? rec.s[0] != 'F' : rec.s[0] != 'T')
            die(QQ_ENVELOPE, first ? "envelope does not start with F"
                                   : "envelope record is not T");
        if (rec.len - 2 > QUEUE_ADDR_MAX)
            die(QQ_ADDR_TOO_LONG, "envelope address longer than 1000 bytes");
        {
            /* control characters would reach header lines (Return-Path,
             * bounces), mbox From lines and logs: refuse them */
            size_t k;
            for (k = 1; k + 1 < rec.len; k++)
                if ((unsigned char)rec.s[k] < 32 || rec.s[k] == 127)
                    die(QQ_ENVELOPE,
                        "control character in an envelope address");
        }
        if (env->len + rec.len > QUEUE_ENV_MAX)
            die(QQ_ENVELOPE, "envelope too large");
        if (!first && ++*nrcpts > QUEUE_RCPT_MAX)
            die(QQ_ENVELOPE, "too many recipients");
        if (dstr_cat(env, &rec) == -1)
            die(QQ_NOMEM, "envelope");
        first = 0;
    }
    /* Anything after the final NUL is a protocol error (fail closed). */
    if (in.pos < in.len)
        die(QQ_ENVELOPE, "data after the end of the envelope");
    dstr_free(&rec);
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

int main(int argc, char **argv)
{
    char id[QUEUE_ID_MAX];
    char hdr[QUEUE_HDR_LEN];
    struct timeval tv;
    dstr received = DSTR_ZERO, env = DSTR_ZERO, mess = DSTR_ZERO;
    uint64_t msglen = 0;
    size_t nrcpts;
    int fd;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-queue");
    umask(027); /* queue files are 0640 whatever the caller's umask */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(QQ_DEADLINE);

    if (qhome_chdir() == -1)
        die_errno(QQ_HOME, qhome_dir());
    if (chdir("queue") == -1)
        die_errno(QQ_QUEUE_DIR, "queue");

    gettimeofday(&tv, 0);
    snprintf(id, sizeof id, "%lld.%06ld.%ld", (long long)tv.tv_sec,
             (long)tv.tv_usec, (long)getpid());
    snprintf(tmppath, sizeof tmppath, "tmp/%s", id);

    fd = open(tmppath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0640);
    if (fd == -1)
        die_errno(QQ_QUEUE_INTD, tmppath);
    tmp_created = 1;
    if (flock(fd, LOCK_EX) == -1)
        die_errno(QQ_QUEUE_INTD, "lock temporary file");

    /* Header placeholder, then our Received line. */
    memset(hdr, ' ', sizeof hdr);
    hdr[sizeof hdr - 1] = '\n';
    if (write_all(fd, hdr, sizeof hdr) == -1)
        die_errno(QQ_WRITE, "write header");
    if (dstr_catf(&received, "Received: (qmail-queue %ld invoked by uid %ld); ",
                  (long)getpid(), (long)getuid()) == -1 ||
        date822_cat(&received, tv.tv_sec) == -1 ||
        dstr_catc(&received, '\n') == -1)
        die(QQ_NOMEM, "Received line");
    if (write_all(fd, received.s, received.len) == -1)
        die_errno(QQ_WRITE, "write message");
    msglen = received.len;

    copy_message(fd, &msglen);
    read_envelope(&env, &nrcpts);

    if (write_all(fd, env.s, env.len) == -1)
        die_errno(QQ_WRITE, "write envelope");
    queue_hdr_format(hdr, msglen, (uint64_t)tv.tv_sec);
    if (pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
        die_errno(QQ_WRITE, "write header");
    if (fsync(fd) == -1)
        die_errno(QQ_WRITE, "fsync message");

    if (queue_mess_path(&mess, id) == -1)
        die(QQ_NOMEM, "message path");
    /* from here on a timeout would report failure for a queued message */
    alarm(0);
    if (renameat2(AT_FDCWD, tmppath, AT_FDCWD, mess.s, RENAME_NOREPLACE) ==
        -1) {
        if (errno != EINVAL)
            die_errno(QQ_QUEUE_MESS, mess.s);
        /* file system without RENAME_NOREPLACE: link refuses to replace */
        if (link(tmppath, mess.s) == -1)
            die_errno(QQ_QUEUE_MESS, mess.s);
        unlink(tmppath);
    }
    tmp_created = 0;
    if (file_fsync_parent(mess.s) == -1) {
        /* Not known to be durable, so the caller must not be told it is.
         * The file stays: qmail-send may already have seen it, and taking
         * it back could strand it; the caller's retry can at worst
         * deliver it twice. */
        die_errno(QQ_WRITE, "fsync queue directory");
    }
    close(fd);
    trigger(id);
    _exit(QQ_OK);
}
