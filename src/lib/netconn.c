/* netconn.c: TCP connections with a deadline.  See netconn.h. */
#include "netconn.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "timeutil.h"

int netconn_connect(const struct sockaddr *sa, socklen_t salen,
                    const struct sockaddr *src, socklen_t srclen,
                    int timeout)
{
    int fd, err, saved;
    int64_t deadline = time_mono_ms() + (int64_t)timeout * 1000;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd == -1)
        return -1;
    if (src && bind(fd, src, srclen) == -1)
        goto fail;
    if (connect(fd, sa, salen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR)
        goto fail;
    for (;;) {
        struct pollfd p;
        int64_t left = deadline - time_mono_ms();
        socklen_t el = sizeof err;
        int r;

        if (left <= 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        p.fd = fd;
        p.events = POLLOUT;
        p.revents = 0;
        r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (r == -1 && errno != EINTR)
            goto fail;
        if (r <= 0)
            continue;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
            goto fail;
        if (err) {
            errno = err;
            goto fail;
        }
        return fd;
    }
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}
