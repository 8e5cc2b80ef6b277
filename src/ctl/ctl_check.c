/*
 * ctl_check.c: validation of what the administrator types: host names,
 * ports, bind addresses and user names.  Nothing is written to an instance
 * before its settings passed these checks.
 */
#include "ctl.h"

#include <arpa/inet.h>
#include <string.h>

#include "num.h"

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* A domain name: dot-separated labels of letters, digits and '-', each 1-63
 * bytes and not starting or ending with '-', 253 bytes at most, and not all
 * digits in its last label (so an IP address is not taken for a name). */
int ctl_hostname_ok(const char *s)
{
    size_t len = strlen(s), i, label = 0;
    int last_all_digits = 1;

    if (len == 0 || len > 253)
        return 0;
    for (i = 0; i <= len; i++) {
        char c = s[i];
        if (c == '.' || c == 0) {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            if (c == 0)
                break;
            label = 0;
            last_all_digits = 1;
            continue;
        }
        if (!is_alnum(c) && c != '-')
            return 0;
        if (label == 0 && c == '-')
            return 0;
        if (!(c >= '0' && c <= '9'))
            last_all_digits = 0;
        if (++label > 63)
            return 0;
    }
    return !last_all_digits;
}

int ctl_port_parse(const char *s, unsigned *port)
{
    unsigned long long n;

    if (num_scan_ulong_str(s, &n) == -1 || n < 1 || n > 65535)
        return -1;
    *port = (unsigned)n;
    return 0;
}

int ctl_bind_ok(const char *s, dstr *canon)
{
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN];
    int af;

    if (inet_pton(AF_INET, s, addr) == 1)
        af = AF_INET;
    else if (inet_pton(AF_INET6, s, addr) == 1)
        af = AF_INET6;
    else
        return 0;
    if (!inet_ntop(af, addr, text, sizeof text))
        return 0;
    if (canon && (dstr_copys(canon, text) == -1 || dstr_cat0(canon) == -1))
        ctl_nomem();
    return 1;
}

/* Lower-case letters, digits, '.', '_' and '-'; not starting with '.' or
 * '-' (no hidden files, no option look-alikes); at most 64 bytes. */
int ctl_username_ok(const char *s)
{
    size_t len = strlen(s), i;

    if (len == 0 || len > CTL_USERNAME_MAX || s[0] == '.' || s[0] == '-')
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}
