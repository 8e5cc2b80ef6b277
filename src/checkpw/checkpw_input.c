/*
 * checkpw_input.c: read and split the checkpassword input on fd 3.  See
 * checkpw_input.h.
 */
#include "checkpw_input.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"

int checkpw_input_read(int fd, int timeout, struct checkpw_input *in)
{
    int e;

    in->len = 0;
    for (;;) {
        /* one octet of room beyond the limit tells "too much" apart */
        long r = fd_read_timeout(fd, in->buf + in->len,
                                 sizeof in->buf - in->len, timeout);
        if (r == -1)
            goto fail;
        if (r == 0)
            break;
        in->len += (size_t)r;
        if (in->len > CHECKPW_INPUT_MAX) {
            errno = EMSGSIZE;
            goto fail;
        }
    }
    close(fd);
    return 0;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

int checkpw_input_parse(struct checkpw_input *in)
{
    const char *end = in->buf + in->len, *p = in->buf, *nul;
    const char *field[3] = {0, 0, 0};
    size_t flen[3] = {0, 0, 0};
    int n = 0;

    if (in->len > CHECKPW_INPUT_MAX)
        return -1;
    while (p < end && n < 3) {
        nul = memchr(p, 0, (size_t)(end - p));
        if (!nul)
            return -1; /* a field without its NUL */
        field[n] = p;
        flen[n] = (size_t)(nul - p);
        n++;
        p = nul + 1;
    }
    if (n < 2 || flen[0] == 0)
        return -1;
    in->user = field[0];
    in->userlen = flen[0];
    in->pass = field[1];
    in->passlen = flen[1];
    in->stamp = n == 3 ? field[2] : "";
    return 0;
}

void checkpw_input_wipe(struct checkpw_input *in)
{
    explicit_bzero(in->buf, sizeof in->buf);
}
