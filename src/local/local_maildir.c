/*
 * local_maildir.c: Maildir delivery, exactly as the Maildir specification
 * says: a unique name in tmp/, the whole message written and fsync()ed,
 * then linked into new/ and removed from tmp/.  We also fsync new/ before
 * reporting success, because qmail-send removes the queued copy on our
 * word.
 */
#include "local_deliver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "bio.h"
#include "file.h"
#include "local_msg.h"

static void reason(char *why, size_t size, const char *what, int err)
{
    if (err == ENOSPC || err == EDQUOT)
        snprintf(why, size, "%s: disk full or over quota (#4.3.0)", what);
    else if (err == EPROTO)
        snprintf(why, size, "%s: queued message is truncated (#4.3.0)",
                 what);
    else
        snprintf(why, size, "%s: %s (#4.2.0)", what, strerror(err));
}

/* Host part of unique names: '/' and ':' encoded as the spec says. */
static void hostpart(char *out, size_t size)
{
    char host[256];
    size_t i, o = 0;

    if (gethostname(host, sizeof host) == -1)
        host[0] = 0;
    host[sizeof host - 1] = 0;
    if (!host[0])
        snprintf(host, sizeof host, "localhost");
    for (i = 0; host[i] && o + 5 < size; i++) {
        if (host[i] == '/' || host[i] == ':') {
            snprintf(out + o, size - o, "\\%03o", (unsigned char)host[i]);
            o += 4;
        } else {
            out[o++] = host[i];
        }
    }
    out[o] = 0;
}

/* Is the file at path an earlier copy of this very delivery: the same
 * size, and starting with the same Return-Path and Delivered-To lines?
 * (The stable name alone could collide: it holds a hash.) */
static int same_copy(const char *path, off_t size, const char *prefix)
{
    char buf[4096];
    size_t plen = strlen(prefix);
    struct stat st;
    int fd, same = 0;

    if (plen > sizeof buf)
        return 0;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1)
        return 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == size &&
        pread(fd, buf, plen, 0) == (ssize_t)plen &&
        memcmp(buf, prefix, plen) == 0)
        same = 1;
    close(fd);
    return same;
}

/* Is there already a file called name (or name:2,...) in dir/cur that is
 * this delivery's copy?  Only asked for repeated deliveries. */
static int in_cur(const char *dir, const char *name, off_t size,
                  const char *prefix)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    size_t nlen = strlen(name);
    int found = 0;

    if (snprintf(path, sizeof path, "%s/cur", dir) >= (int)sizeof path)
        return 0;
    d = opendir(path);
    if (!d)
        return 0;
    while (!found && (e = readdir(d))) {
        char full[4096];
        if (strncmp(e->d_name, name, nlen) != 0 ||
            (e->d_name[nlen] != 0 && e->d_name[nlen] != ':'))
            continue;
        if (snprintf(full, sizeof full, "%s/%s", path, e->d_name) <
                (int)sizeof full &&
            same_copy(full, size, prefix))
            found = 1;
    }
    closedir(d);
    return found;
}

int local_maildir(const char *dir, const char *prefix, const char *uniq,
                  int maybe_repeat, char *why, size_t whysize, int *perm)
{
    char host[300], name[512], tmp[4096], new[4096], newdir[4096];
    char buf[65536];
    struct timeval tv;
    struct stat st;
    int fd = -1, tries, err, fresh = uniq == 0;
    long r;

    *perm = 0;
    hostpart(host, sizeof host);
    if (snprintf(newdir, sizeof newdir, "%s/new", dir) >= (int)sizeof newdir) {
        snprintf(why, whysize, "Maildir path too long (#5.3.5)");
        *perm = 1;
        return -1;
    }
    /* A repeat of this delivery (after a crash or a later line's failure)
     * finds the copy it made before, by name and content: the size is
     * known in advance. */
    if (!fresh) {
        off_t want = (off_t)(strlen(prefix) + local_msg_len());
        snprintf(name, sizeof name, "%s.%s", uniq, host);
        if (snprintf(new, sizeof new, "%s/new/%s", dir, name) <
                (int)sizeof new &&
            same_copy(new, want, prefix)) {
            snprintf(why, whysize, "%s/new/%s (delivered before)", dir, name);
            return 0;
        }
        if (maybe_repeat && in_cur(dir, name, want, prefix)) {
            snprintf(why, whysize, "%s/cur/%s (delivered before)", dir, name);
            return 0;
        }
    }
    for (tries = 0;; tries++) {
        if (fresh) {
            gettimeofday(&tv, 0);
            snprintf(name, sizeof name, "%lld.M%06ldP%ld.%s",
                     (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
                     host);
        } else {
            snprintf(name, sizeof name, "%s.%s", uniq, host);
        }
        if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name) >=
                (int)sizeof tmp ||
            snprintf(new, sizeof new, "%s/new/%s", dir, name) >=
                (int)sizeof new) {
            snprintf(why, whysize, "Maildir path too long (#5.3.5)");
            *perm = 1;
            return -1;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd != -1)
            break;
        if (errno == EEXIST && !fresh) {
            /* left by a killed attempt, or being written right now by a
             * delivery whose stable name collides with ours: never touch
             * it, take a fresh name (a copy found later in new/ is still
             * recognised by its content) */
            fresh = 1;
            continue;
        }
        if (errno != EEXIST || tries >= 3) {
            err = errno;
            reason(why, whysize,
                   errno == ENOENT ? "Maildir does not exist or has no tmp/"
                                   : "unable to create file in Maildir tmp/",
                   err);
            return -1;
        }
        sleep(2); /* the spec: wait and try a new name */
    }

    if (fd_write_all(fd, prefix, strlen(prefix), 0) == -1)
        goto fail_write;
    local_msg_rewind();
    while ((r = local_msg_read(buf, sizeof buf)) > 0)
        if (fd_write_all(fd, buf, (size_t)r, 0) == -1)
            goto fail_write;
    if (r == -1)
        goto fail_write;
    if (fsync(fd) == -1 || fstat(fd, &st) == -1)
        goto fail_write;
    if (close(fd) == -1) {
        fd = -1;
        goto fail_write;
    }
    fd = -1;
    while (link(tmp, new) == -1) {
        err = errno;
        if (err == EEXIST && !fresh) {
            /* the same delivery already got there, or, with a different
             * size, a name collision: then use a fresh name */
            if (same_copy(new, st.st_size, prefix)) {
                unlink(tmp);
                snprintf(why, whysize, "%s/new/%s (delivered before)", dir,
                         name);
                return 0;
            }
            gettimeofday(&tv, 0);
            snprintf(name, sizeof name, "%lld.M%06ldP%ld.%s",
                     (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
                     host);
            snprintf(new, sizeof new, "%s/new/%s", dir, name);
            fresh = 1;
            continue;
        }
        unlink(tmp);
        reason(why, whysize, "unable to link message into Maildir new/", err);
        return -1;
    }
    unlink(tmp);
    if (file_fsync_dir(newdir) == -1) {
        err = errno;
        /* the message is there but not known to be durable: retrying
         * may duplicate it, which the queue's promise allows */
        unlink(new);
        reason(why, whysize, "unable to sync Maildir new/", err);
        return -1;
    }
    snprintf(why, whysize, "%s/new/%s", dir, name);
    return 0;

fail_write:
    err = errno;
    if (fd != -1)
        close(fd);
    unlink(tmp);
    reason(why, whysize, "unable to write message into Maildir", err);
    return -1;
}
