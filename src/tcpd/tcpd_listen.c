/*
 * tcpd_listen.c: the listening socket of qmail-tcpd.
 *
 * One address per process.  An IPv6 socket is IPV6_V6ONLY, so "::"
 * means every IPv6 address and no IPv4 one: to serve both, run one
 * qmail-tcpd on 0.0.0.0 (or "0") and one on "::".  Clients therefore
 * never arrive as IPv4-mapped IPv6 addresses.
 */
#include "tcpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tcpd_listen_bind(const char *addr, unsigned port, dstr *why)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1, saved;
    const char *what;

    memset(&ss, 0, sizeof ss);
    if (strcmp(addr, "0") == 0)
        addr = "0.0.0.0";
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1)
            goto notaddr;
        len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, addr, &a4->sin_addr) != 1)
            goto notaddr;
        len = sizeof *a4;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1) {
        what = "cannot create a socket";
        goto syserr;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1) {
        what = "cannot set SO_REUSEADDR";
        goto syserr_close;
    }
    if (ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == -1) {
        what = "cannot set IPV6_V6ONLY";
        goto syserr_close;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
        what = "cannot bind";
        goto syserr_close;
    }
    return fd;
syserr_close:
    saved = errno;
    close(fd);
    errno = saved;
syserr:
    dstr_copys(why, "");
    if (dstr_catf(why, "%s port %u: %s: %s", addr, port, what,
                  strerror(errno)) == -1 ||
        dstr_cat0(why) == -1)
        why->len = 0;
    return -1;
notaddr:
    dstr_copys(why, "");
    if (dstr_catf(why, "%s: not an IPv4 or IPv6 address (host names are "
                  "not looked up; 0 means 0.0.0.0)", addr) == -1 ||
        dstr_cat0(why) == -1)
        why->len = 0;
    errno = EINVAL;
    return -1;
}
