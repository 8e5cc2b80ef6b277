// fuzz-sources: src/checkpw/checkpw_input.c src/lib/bio.c src/lib/dstr.c src/lib/timeutil.c
/*
 * libFuzzer harness: the checkpassword input on descriptor 3
 * ("NAME\0PASSWORD\0TIMESTAMP\0").  The input is written into a pipe and
 * read with checkpw_input_read as qmail-checkpw does, then split.
 * Checks: reading returns exactly the octets written, or EMSGSIZE when
 * there are more than CHECKPW_INPUT_MAX; the split agrees with a simple
 * reference: accepted only when the name is non-empty and name and
 * password end in NUL; user, pass and stamp point into buf at the
 * fields, NUL-terminated, with the lengths given; wiping clears buf.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "../../src/checkpw/checkpw_input.h"

static struct checkpw_input in;

/* 1 if data splits; the offsets of the fields. */
static int model(const char *d, size_t n, size_t off[3], size_t len[3],
                 int *nf)
{
    size_t p = 0;
    int k = 0;

    while (p < n && k < 3) {
        const char *z = memchr(d + p, 0, n - p);
        if (!z)
            return 0;
        off[k] = p;
        len[k] = (size_t)(z - (d + p));
        p += len[k] + 1;
        k++;
    }
    *nf = k;
    return k >= 2 && len[0] > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[2], r, e, ok, nf = 0;
    size_t off[3], len[3], i;

    if (size > 4096)
        return 0;
    if (pipe(fds) == -1)
        abort();
    if (write(fds[1], data, size) != (ssize_t)size)
        abort();
    close(fds[1]);
    memset(&in, 0x55, sizeof in);
    r = checkpw_input_read(fds[0], 5, &in);
    e = errno;
    /* the descriptor is closed, whatever the outcome */
    if (fcntl(fds[0], F_GETFD) != -1 || errno != EBADF)
        abort();
    if (size > CHECKPW_INPUT_MAX) {
        if (r != -1 || e != EMSGSIZE)
            abort();
        return 0;
    }
    if (r != 0 || in.len != size || memcmp(in.buf, data, size) != 0)
        abort();
    r = checkpw_input_parse(&in);
    ok = model((const char *)data, size, off, len, &nf);
    if ((r == 0) != ok)
        abort();
    if (r == 0) {
        if (in.user != in.buf + off[0] || in.userlen != len[0] ||
            strlen(in.user) != in.userlen || in.pass != in.buf + off[1] ||
            in.passlen != len[1] || strlen(in.pass) != in.passlen)
            abort();
        if (nf == 3 ? in.stamp != in.buf + off[2] || strlen(in.stamp) != len[2]
                    : strcmp(in.stamp, "") != 0)
            abort();
    }
    checkpw_input_wipe(&in);
    for (i = 0; i < sizeof in.buf; i++)
        if (in.buf[i])
            abort();
    return 0;
}
