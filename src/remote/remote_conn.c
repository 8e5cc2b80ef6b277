/* remote_conn.c: TCP connections with a deadline.  See remote_conn.h. */
#include "remote_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timeutil.h"

static socklen_t make_sockaddr(const remote_ip *ip, unsigned port,
                               struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (ip->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        memcpy(&s6->sin6_addr, ip->addr, 16);
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)port);
    memcpy(&s4->sin_addr, ip->addr, 4);
    return sizeof *s4;
}

int remote_connect(const remote_ip *ip, unsigned port, const remote_ip *src,
                   int timeout)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, saved, err;
    int64_t deadline = time_mono_ms() + (int64_t)timeout * 1000;

    fd = socket(ip->family == AF_INET6 ? AF_INET6 : AF_INET,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    if (src && src->family == ip->family) {
        sl = make_sockaddr(src, 0, &ss);
        if (bind(fd, (struct sockaddr *)&ss, sl) == -1)
            goto fail;
    }
    sl = make_sockaddr(ip, port, &ss);
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
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
