/* file.c: file and directory helpers.  See file.h. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bio.h"

int file_open_read(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

int file_open_excl(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
                          O_NOCTTY,
                mode);
}

int file_read(const char *path, dstr *out, size_t max)
{
    int fd = file_open_read(path);
    int saved;

    out->len = 0;
    if (fd == -1)
        return -1;
    for (;;) {
        ssize_t r;
        if (dstr_reserve(out, 4096) == -1)
            goto fail;
        r = read(fd, out->s + out->len, out->cap - out->len - 1);
        if (r == -1) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        if (out->len > max) {
            errno = EFBIG;
            goto fail;
        }
    }
    close(fd);
    return 0;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static int dirname_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (!slash) {
        if (size < 2)
            goto toolong;
        dir[0] = '.';
        dir[1] = 0;
        return 0;
    }
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= size)
        goto toolong;
    memcpy(dir, path, n);
    dir[n] = 0;
    return 0;
toolong:
    errno = ENAMETOOLONG;
    return -1;
}

int file_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r, saved;

    if (fd == -1)
        return -1;
    r = fsync(fd);
    saved = errno;
    close(fd);
    errno = saved;
    return r;
}

int file_fsync_parent(const char *path)
{
    char dir[4096];
    if (dirname_of(path, dir, sizeof dir) == -1)
        return -1;
    return file_fsync_dir(dir);
}

int file_write_atomic(const char *path, const void *data, size_t n,
                      mode_t mode)
{
    char tmp[4096];
    int fd, saved, r;

    r = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (r < 0 || (size_t)r >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp);
    fd = file_open_excl(tmp, mode);
    if (fd == -1)
        return -1;
    if (fd_write_all(fd, data, n, 0) == -1 || fsync(fd) == -1) {
        saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        return -1;
    }
    if (close(fd) == -1) { /* the fd is gone either way: no second close */
        saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    if (rename(tmp, path) == -1) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return file_fsync_parent(path);
}

int file_mkdirs(const char *path, mode_t mode)
{
    char buf[4096];
    size_t len = strlen(path), i;

    if (len == 0 || len >= sizeof buf) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        buf[i] = 0;
        if (mkdir(buf, mode) == -1) {
            struct stat st;
            if (errno != EEXIST)
                return -1;
            /* "already there" must mean a directory, not a file */
            if (stat(buf, &st) == -1)
                return -1;
            if (!S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                return -1;
            }
        }
        if (i < len)
            buf[i] = '/';
    }
    return 0;
}

int file_exists(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return 1;
    return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}
