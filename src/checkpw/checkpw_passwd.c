/*
 * checkpw_passwd.c: find a user's hash in users/passwd.  See
 * checkpw_passwd.h.
 */
#include "checkpw_passwd.h"

#include <errno.h>
#include <string.h>

#include "bio.h"
#include "dstr.h"

int checkpw_passwd_line(const char *line, size_t len, const char *name,
                        size_t namelen, const char **hash, size_t *hashlen)
{
    const char *h, *colon;
    size_t n;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0 || line[0] == '#')
        return 0;
    if (namelen == 0 || len <= namelen || line[namelen] != ':' ||
        memcmp(line, name, namelen) != 0)
        return 0;
    h = line + namelen + 1;
    n = len - namelen - 1;
    colon = memchr(h, ':', n);
    if (colon)
        n = (size_t)(colon - h);
    *hash = h;
    *hashlen = n;
    return 1;
}

int checkpw_passwd_find(int fd, const char *name, size_t namelen,
                        char *hash, size_t hashsize)
{
    char buf[8192];
    bio b;
    dstr line = DSTR_ZERO;
    int found = 0, r;

    if (hashsize == 0) {
        errno = EINVAL;
        return -1;
    }
    hash[0] = 0;
    bio_init(&b, fd, buf, sizeof buf, 0);
    for (;;) {
        const char *h;
        size_t hlen, len;
        int toolong;

        line.len = 0;
        r = bio_getline(&b, &line, CHECKPW_LINE_MAX + 1, &toolong);
        if (r == -1) {
            int e = errno;
            dstr_free(&line);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        if (toolong)
            continue;
        len = line.len;
        if (len > 0 && line.s[len - 1] == '\n')
            len--;
        if (!found && checkpw_passwd_line(line.s, len, name, namelen, &h,
                                          &hlen) &&
            hlen < hashsize) {
            memcpy(hash, h, hlen);
            hash[hlen] = 0;
            found = 1;
        }
    }
    if (line.s)
        explicit_bzero(line.s, line.cap);
    dstr_free(&line);
    return found;
}
