/*
 * pop3_maildir.c: list, open and remove the messages of a Maildir for
 * qmail-pop3d.  See pop3_maildir.h for the rules (new/ to cur/, UIDL,
 * sharing the Maildir with other programs).
 */
#include "pop3_maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pop3_enc.h"

/* ---- UIDL ----------------------------------------------------------------- */

static uint64_t fnv1a(const char *s, size_t n, uint64_t h)
{
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

size_t pop3_uid_from_name(const char *name, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const char *colon = strchr(name, ':');
    size_t n = colon ? (size_t)(colon - name) : strlen(name);
    size_t i;
    int ok = n >= 1 && n <= POP3_UID_MAX;
    uint64_t h1, h2;

    for (i = 0; ok && i < n; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
            ok = 0;
    if (ok) {
        memcpy(out, name, n);
        out[n] = 0;
        return n;
    }
    /* two FNV-1a hashes with different offsets: 128 bits, stable */
    h1 = fnv1a(name, n, 0xcbf29ce484222325ULL);
    h2 = fnv1a(name, n, 0x84222325cbf29ce4ULL);
    out[0] = 'H';
    for (i = 0; i < 16; i++) {
        out[1 + i] = hex[(h1 >> (60 - 4 * i)) & 15];
        out[17 + i] = hex[(h2 >> (60 - 4 * i)) & 15];
    }
    out[33] = 0;
    return 33;
}

/* ---- the list ------------------------------------------------------------- */

const char *pop3_box_path(const struct pop3_box *b, size_t i)
{
    return b->names.s + b->msg[i].path;
}

const char *pop3_box_uid(const struct pop3_box *b, size_t i)
{
    return b->names.s + b->msg[i].uid;
}

void pop3_box_free(struct pop3_box *b)
{
    free(b->msg);
    b->msg = 0;
    b->n = b->cap = 0;
    dstr_free(&b->names);
}

/* Append a NUL-terminated string to the names; its offset into *off. */
static int names_add(struct pop3_box *b, const char *s, size_t n,
                     size_t *off)
{
    *off = b->names.len;
    if (dstr_catb(&b->names, s, n) == -1 || dstr_catc(&b->names, 0) == -1)
        return -1;
    return 0;
}

/* Open path for reading without following a link or blocking on a FIFO;
 * only regular files.  Fills st. */
static int open_message(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                            O_NOCTTY);
    int flags;

    if (fd == -1) {
        if (errno == ELOOP)
            errno = ENOENT; /* a symbolic link is not a message */
        return -1;
    }
    if (fstat(fd, st) == -1) {
        close(fd);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        errno = ENOENT;
        return -1;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags != -1)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

/* Add dir/name to the list: size computed now.  Returns 0 (also when the
 * file is skipped) or -1 on a hard error. */
static int add_message(struct pop3_box *b, const char *dir, const char *name)
{
    char path[512], uid[POP3_UID_MAX + 1];
    struct pop3_msg *m;
    struct stat st;
    size_t ulen;
    int fd, n;

    n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0; /* cannot be a name the kernel allows */
    fd = open_message(path, &st);
    if (fd == -1) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0; /* gone, or not a file */
        if (errno == EACCES || errno == EPERM) {
            b->unreadable++;
            return 0;
        }
        return -1;
    }
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        struct pop3_msg *nv;
        if (ncap > SIZE_MAX / sizeof *nv) {
            close(fd);
            errno = ENOMEM;
            return -1;
        }
        nv = realloc(b->msg, ncap * sizeof *nv);
        if (!nv) {
            close(fd);
            return -1;
        }
        b->msg = nv;
        b->cap = ncap;
    }
    m = &b->msg[b->n];
    memset(m, 0, sizeof *m);
    if (pop3_enc_size_fd(fd, &m->size) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    close(fd);
    m->mtime_sec = (long long)st.st_mtim.tv_sec;
    m->mtime_nsec = st.st_mtim.tv_nsec;
    ulen = pop3_uid_from_name(name, uid);
    if (names_add(b, path, (size_t)n, &m->path) == -1 ||
        names_add(b, uid, ulen, &m->uid) == -1)
        return -1;
    b->n++;
    return 0;
}

static int skip_name(const char *name) { return name[0] == '.'; }

/* new/NAME -> cur/NAME:2, (never replacing).  0 moved or gone, -1 not. */
static int move_to_cur(const char *name)
{
    char from[512], to[512];
    int n1, n2;

    n1 = snprintf(from, sizeof from, "new/%s", name);
    n2 = snprintf(to, sizeof to, strchr(name, ':') ? "cur/%s" : "cur/%s:2,",
                  name);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof from ||
        (size_t)n2 >= sizeof to)
        return -1;
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == ENOENT)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* a file system without RENAME_NOREPLACE: link + unlink, which never
     * replaces either */
    if (link(from, to) == -1)
        return errno == ENOENT ? 0 : -1;
    if (unlink(from) == -1 && errno != ENOENT) {
        unlink(to);
        return -1;
    }
    return 0;
}

static int scan_new(struct pop3_box *b, size_t max)
{
    DIR *d = opendir("new");
    struct dirent *de;
    int r = 0;

    if (!d)
        return -1;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno)
                r = -1;
            break;
        }
        if (skip_name(de->d_name))
            continue;
        if (move_to_cur(de->d_name) == 0)
            continue;
        /* cannot move it: serve it from new/ */
        if (b->n >= max) {
            b->skipped++;
            continue;
        }
        if (add_message(b, "new", de->d_name) == -1) {
            r = -1;
            break;
        }
    }
    closedir(d);
    return r;
}

static int scan_cur(struct pop3_box *b, size_t max)
{
    DIR *d = opendir("cur");
    struct dirent *de;
    int r = 0;

    if (!d)
        return -1;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno)
                r = -1;
            break;
        }
        if (skip_name(de->d_name))
            continue;
        if (b->n >= max) {
            b->skipped++;
            continue;
        }
        if (add_message(b, "cur", de->d_name) == -1) {
            r = -1;
            break;
        }
    }
    closedir(d);
    return r;
}

/* The Maildir specification: a reader removes files in tmp/ that have
 * not been accessed for 36 hours (debris of deliveries that died).  Only
 * regular files; errors are ignored, this is housekeeping. */
static void clean_tmp(void)
{
    DIR *d = opendir("tmp");
    struct dirent *de;
    time_t old = time(0) - 36 * 3600;

    if (!d)
        return;
    while ((de = readdir(d))) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode) && st.st_atime < old)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

static int by_delivery(const void *pa, const void *pb, void *arg)
{
    const struct pop3_msg *a = pa, *b = pb;
    const char *names = arg;

    if (a->mtime_sec != b->mtime_sec)
        return a->mtime_sec < b->mtime_sec ? -1 : 1;
    if (a->mtime_nsec != b->mtime_nsec)
        return a->mtime_nsec < b->mtime_nsec ? -1 : 1;
    return strcmp(names + a->uid, names + b->uid);
}

int pop3_box_scan(struct pop3_box *b, size_t max)
{
    struct stat st;

    memset(b, 0, sizeof *b);
    if (max > POP3_BOX_MAX)
        max = POP3_BOX_MAX;
    /* both directories must be there: anything else is not a Maildir */
    if (stat("cur", &st) == -1 || stat("new", &st) == -1)
        return -1;
    if (scan_new(b, max) == -1 || scan_cur(b, max) == -1) {
        int e = errno;
        pop3_box_free(b);
        errno = e;
        return -1;
    }
    clean_tmp();
    if (b->n > 1)
        qsort_r(b->msg, b->n, sizeof *b->msg, by_delivery, b->names.s);
    return 0;
}

/* ---- finding a message again ----------------------------------------------- */

/* Look in cur/ for a file with message i's unique name (a mail reader or
 * another session renamed it); on success its path replaces the old. */
static int find_again(struct pop3_box *b, size_t i)
{
    char uid[POP3_UID_MAX + 1], path[512];
    DIR *d = opendir("cur");
    struct dirent *de;
    int found = 0, n = 0;

    if (!d)
        return -1;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        if (skip_name(de->d_name))
            continue;
        pop3_uid_from_name(de->d_name, uid);
        if (strcmp(uid, pop3_box_uid(b, i)) != 0)
            continue;
        n = snprintf(path, sizeof path, "cur/%s", de->d_name);
        if (n > 0 && (size_t)n < sizeof path)
            found = 1;
        break;
    }
    closedir(d);
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    if (strcmp(path, pop3_box_path(b, i)) == 0) {
        errno = ENOENT; /* the same name, and it is not there */
        return -1;
    }
    return names_add(b, path, (size_t)n, &b->msg[i].path);
}

int pop3_box_open(struct pop3_box *b, size_t i)
{
    struct stat st;
    int fd = open_message(pop3_box_path(b, i), &st);

    if (fd == -1 && errno == ENOENT && find_again(b, i) == 0)
        fd = open_message(pop3_box_path(b, i), &st);
    return fd;
}

int pop3_box_remove(struct pop3_box *b, size_t i)
{
    if (unlink(pop3_box_path(b, i)) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    if (find_again(b, i) == -1)
        return errno == ENOENT ? 0 : -1;
    if (unlink(pop3_box_path(b, i)) == 0 || errno == ENOENT)
        return 0;
    return -1;
}
