/*
 * tcpd_addr.c: parsing and printing client addresses.  See tcpd_addr.h.
 * Input comes from the kernel (accepted sockets) or from the
 * administrator's rules; both are checked the same way.
 */
#include "tcpd_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 0xff, 0xff};

static void from_v6(const unsigned char in[16], tcpd_addr *a)
{
    memset(a, 0, sizeof *a);
    if (memcmp(in, v4mapped, sizeof v4mapped) == 0) {
        a->family = 4;
        memcpy(a->b, in + 12, 4);
    } else {
        a->family = 6;
        memcpy(a->b, in, 16);
    }
}

int tcpd_addr_parse(const char *s, tcpd_addr *a)
{
    unsigned char buf[16];

    if (strchr(s, ':')) {
        if (inet_pton(AF_INET6, s, buf) != 1)
            goto bad;
        from_v6(buf, a);
        return 0;
    }
    /* inet_pton(AF_INET) takes only the dotted quad, no octal or short
     * forms, which is what we want */
    if (inet_pton(AF_INET, s, buf) != 1)
        goto bad;
    memset(a, 0, sizeof *a);
    a->family = 4;
    memcpy(a->b, buf, 4);
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

int tcpd_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len,
                            tcpd_addr *a, unsigned *port)
{
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        memset(a, 0, sizeof *a);
        a->family = 4;
        memcpy(a->b, &in4->sin_addr, 4);
        *port = ntohs(in4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6 &&
        len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        from_v6((const unsigned char *)&in6->sin6_addr, a);
        *port = ntohs(in6->sin6_port);
        return 0;
    }
    errno = EAFNOSUPPORT;
    return -1;
}

void tcpd_addr_format(const tcpd_addr *a, char out[TCPD_ADDR_STRMAX])
{
    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, out,
                   TCPD_ADDR_STRMAX)) {
        out[0] = '?';
        out[1] = 0;
    }
}

unsigned tcpd_addr_bits(const tcpd_addr *a)
{
    return a->family == 4 ? 32 : 128;
}

void tcpd_addr_mask(tcpd_addr *a, unsigned bits)
{
    unsigned i;
    for (i = 0; i < 16; i++) {
        if (bits >= 8 * (i + 1))
            continue;
        if (bits <= 8 * i)
            a->b[i] = 0;
        else
            a->b[i] &= (unsigned char)(0xff00u >> (bits - 8 * i));
    }
}

int tcpd_addr_is_masked(const tcpd_addr *a, unsigned bits)
{
    tcpd_addr m = *a;
    tcpd_addr_mask(&m, bits);
    return memcmp(m.b, a->b, sizeof m.b) == 0;
}

void tcpd_addr_limit_key(const tcpd_addr *a, unsigned char key[16])
{
    memset(key, 0, 16);
    if (a->family == 4) {
        memcpy(key, v4mapped, sizeof v4mapped);
        memcpy(key + 12, a->b, 4);
    } else {
        memcpy(key, a->b, 8);
    }
}
