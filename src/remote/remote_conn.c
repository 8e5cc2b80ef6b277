/* remote_conn.c: TCP connections with a deadline.  See remote_conn.h. */
#include "remote_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netconn.h"

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
    struct sockaddr_storage ss, from;
    socklen_t sl, fl = 0;

    sl = make_sockaddr(ip, port, &ss);
    if (src && src->family == ip->family)
        fl = make_sockaddr(src, 0, &from);
    return netconn_connect((struct sockaddr *)&ss, sl,
                           fl ? (struct sockaddr *)&from : 0, fl, timeout);
}
