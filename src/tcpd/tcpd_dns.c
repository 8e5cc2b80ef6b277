/*
 * tcpd_dns.c: the remote host name for TCPREMOTEHOST (qmail-tcpd -h).
 *
 * Runs in the child, before exec, so a slow resolver delays only its own
 * client.  The name from the PTR record is believed only if it looks up
 * (A/AAAA) to the client's address again: otherwise whoever controls the
 * client's reverse zone could claim any name.  The resolver is held to
 * the timeout through RES_OPTIONS (glibc reads it when the resolver
 * first starts in this process), one attempt per server.
 *
 * Trust: the name comes from the network; only letters, digits, '-', '_'
 * and '.' are accepted, at most TCPD_NAME_MAX bytes.
 */
#include "tcpd.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int name_ok(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > TCPD_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int confirmed(const char *name, const tcpd_addr *a)
{
    struct addrinfo hints, *res = 0, *p;
    int ok = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = a->family == 4 ? AF_INET : AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(name, 0, &hints, &res) != 0)
        return 0;
    for (p = res; p && !ok; p = p->ai_next) {
        tcpd_addr b;
        unsigned port;
        if (tcpd_addr_from_sockaddr(p->ai_addr, p->ai_addrlen, &b, &port) ==
                0 &&
            b.family == a->family && memcmp(b.b, a->b, sizeof b.b) == 0)
            ok = 1;
    }
    freeaddrinfo(res);
    return ok;
}

int tcpd_dns_remote_host(const tcpd_addr *a, unsigned timeout, dstr *name)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char host[NI_MAXHOST], opts[64];
    size_t i;

    snprintf(opts, sizeof opts, "timeout:%u attempts:1", timeout);
    if (setenv("RES_OPTIONS", opts, 1) == -1)
        return 0;
    memset(&ss, 0, sizeof ss);
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->b, 4);
        len = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->b, 16);
        len = sizeof *s6;
    }
    if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, 0, 0,
                    NI_NAMEREQD) != 0)
        return 0;
    i = strlen(host);
    if (i && host[i - 1] == '.')
        host[--i] = 0;
    if (!name_ok(host) || !confirmed(host, a))
        return 0;
    if (dstr_copys(name, host) == -1 || dstr_cat0(name) == -1)
        return 0;
    dstr_lower(name);
    return 1;
}
