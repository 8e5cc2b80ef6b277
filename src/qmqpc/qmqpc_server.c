/* qmqpc_server.c: control/qmqpservers lines.  See qmqpc_server.h. */
#include "qmqpc_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "num.h"

static int bad(void)
{
    errno = EINVAL;
    return -1;
}

/* Address text (at most len bytes, no brackets) into srv. */
static int set_addr(qmqpc_server *srv, const char *s, size_t len,
                    unsigned port)
{
    char ip[INET6_ADDRSTRLEN + 1];

    memset(&srv->addr, 0, sizeof srv->addr);
    if (len == 0 || len >= sizeof ip)
        return bad();
    memcpy(ip, s, len);
    ip[len] = 0;
    if (memchr(ip, ':', len)) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&srv->addr;
        if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
            return bad();
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        srv->addrlen = sizeof *s6;
        snprintf(srv->name, sizeof srv->name, "[%s]:%u", ip, port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&srv->addr;
        if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
            return bad();
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        srv->addrlen = sizeof *s4;
        snprintf(srv->name, sizeof srv->name, "%s:%u", ip, port);
    }
    return 0;
}

static int scan_port(const char *s, unsigned *port)
{
    unsigned long long v;

    if (num_scan_ulong_str(s, &v) == -1 || v == 0 || v > 65535)
        return bad();
    *port = (unsigned)v;
    return 0;
}

int qmqpc_server_parse(const char *line, qmqpc_server *srv)
{
    unsigned port = QMQPC_PORT_DEFAULT;
    const char *colon;

    if (line[0] == '[') {
        const char *end = strchr(line, ']');
        if (!end)
            return bad();
        if (end[1] == ':') {
            if (scan_port(end + 2, &port) == -1)
                return -1;
        } else if (end[1]) {
            return bad();
        }
        return set_addr(srv, line + 1, (size_t)(end - line - 1), port);
    }
    colon = strchr(line, ':');
    if (colon && strchr(colon + 1, ':')) /* bare IPv6 */
        return set_addr(srv, line, strlen(line), port);
    if (colon) {
        if (scan_port(colon + 1, &port) == -1)
            return -1;
        return set_addr(srv, line, (size_t)(colon - line), port);
    }
    return set_addr(srv, line, strlen(line), port);
}
