/*
 * cdbmap.c: cdb lookups and builds through tinycdb.  See cdbmap.h.
 * The cdb file is trusted configuration built by our own tools.
 */
#include "cdbmap.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int cdbmap_lookup(const char *path, const void *key, size_t keylen,
                  dstr *value)
{
    struct cdb c;
    int fd, r, saved;

    if (keylen > UINT_MAX) {
        errno = EINVAL;
        return -1;
    }
    fd = file_open_read(path);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    if (cdb_init(&c, fd) != 0) {
        saved = errno ? errno : EINVAL;
        close(fd);
        errno = saved;
        return -1;
    }
    r = cdb_find(&c, key, (unsigned)keylen);
    if (r > 0) {
        unsigned vlen = cdb_datalen(&c);
        value->len = 0;
        if (dstr_reserve(value, vlen) == -1)
            r = -1;
        else if (cdb_read(&c, value->s, vlen, cdb_datapos(&c)) != 0)
            r = -1;
        else {
            value->len = vlen;
            r = 1;
        }
    } else if (r < 0) {
        r = -1;
    }
    saved = errno;
    cdb_free(&c);
    close(fd);
    errno = saved;
    return r;
}

int cdbmap_make(const char *path, const dstr *pairs)
{
    char tmp[4096];
    struct cdb_make cm;
    size_t i = 0;
    int fd, r, saved, started = 0;

    r = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (r < 0 || (size_t)r >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp);
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd == -1)
        return -1;
    if (cdb_make_start(&cm, fd) != 0)
        goto fail;
    started = 1;
    while (i < pairs->len) {
        const char *k = pairs->s + i;
        const char *kend = memchr(k, 0, pairs->len - i);
        const char *v, *vend;
        if (!kend) {
            errno = EINVAL; /* bytes after the last pair */
            goto fail;
        }
        v = kend + 1;
        vend = v < pairs->s + pairs->len
                   ? memchr(v, 0, (size_t)(pairs->s + pairs->len - v))
                   : 0;
        if (!vend) {
            errno = EINVAL;
            goto fail;
        }
        if ((size_t)(kend - k) > UINT_MAX || (size_t)(vend - v) > UINT_MAX) {
            errno = EINVAL;
            goto fail;
        }
        if (cdb_make_add(&cm, k, (unsigned)(kend - k), v,
                         (unsigned)(vend - v)) != 0)
            goto fail;
        i = (size_t)(vend - pairs->s) + 1;
    }
    started = 0; /* cdb_make_finish frees its lists even when it fails */
    if (cdb_make_finish(&cm) != 0 || fsync(fd) == -1)
        goto fail;
    r = close(fd);
    fd = -1;
    if (r == -1)
        goto fail;
    if (rename(tmp, path) == -1)
        goto fail_unlink;
    return file_fsync_parent(path);
fail:
    saved = errno;
    if (started) /* only way tinycdb offers to free the records */
        cdb_make_finish(&cm);
    if (fd != -1)
        close(fd);
    errno = saved;
fail_unlink:
    saved = errno;
    unlink(tmp);
    errno = saved;
    return -1;
}
