/* remote_ip.c: address values and their text forms.  See remote_ip.h. */
#include "remote_ip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

int remote_ip_parse(const char *s, size_t len, remote_ip *ip)
{
    char tmp[REMOTE_IP_FMT];

    if (len == 0 || len >= sizeof tmp || memchr(s, 0, len))
        goto bad;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, tmp, ip->addr) == 1) {
        ip->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, ip->addr) == 1) {
        ip->family = AF_INET6;
        return 0;
    }
bad:
    errno = EINVAL;
    return -1;
}

int remote_ip_literal(const char *s, size_t len, remote_ip *ip)
{
    if (len < 3 || s[0] != '[' || s[len - 1] != ']') {
        errno = EINVAL;
        return -1;
    }
    s++;
    len -= 2;
    if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
        if (remote_ip_parse(s + 5, len - 5, ip) == -1)
            return -1;
        if (ip->family != AF_INET6) {
            errno = EINVAL;
            return -1;
        }
        return 0;
    }
    return remote_ip_parse(s, len, ip);
}

void remote_ip_fmt(const remote_ip *ip, char buf[REMOTE_IP_FMT])
{
    if (!inet_ntop(ip->family == AF_INET6 ? AF_INET6 : AF_INET, ip->addr,
                   buf, REMOTE_IP_FMT)) {
        buf[0] = '?';
        buf[1] = 0;
    }
}

int remote_ip_equal(const remote_ip *a, const remote_ip *b)
{
    size_t n = a->family == AF_INET6 ? 16 : 4;
    return a->family == b->family && memcmp(a->addr, b->addr, n) == 0;
}
