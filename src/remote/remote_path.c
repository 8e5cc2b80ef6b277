/* remote_path.c: SMTP paths.  See remote_path.h. */
#include "remote_path.h"

#include <string.h>
#include <strings.h>

#include "remote_mx.h"

#define ADDR_MAX 1000

/* An address literal: "[" digits, hex, '.' and ':' (with an optional
 * "IPv6:" tag) "]". */
static int literal_ok(const char *d, size_t len)
{
    size_t i = 1;

    if (len < 3 || d[0] != '[' || d[len - 1] != ']')
        return 0;
    if (len > 7 && strncasecmp(d + 1, "IPv6:", 5) == 0)
        i = 6;
    for (; i < len - 1; i++) {
        char c = d[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

int remote_path_ok(const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t i;

    for (i = 0; addr[i]; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (c < 32 || c == 127 || i >= ADDR_MAX)
            return 0;
    }
    /* the domain goes on the wire as it is: it must be a host name or an
     * address literal, so that it cannot end the path or add parameters
     * ("s@x> RET=HDRS") */
    if (at) {
        size_t dlen = strlen(at + 1);
        if (!remote_name_valid(at + 1, dlen) && !literal_ok(at + 1, dlen))
            return 0;
    }
    return 1;
}

static int atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 128 ||
           strchr("!#$%&'*+-/=?^_`{|}~", c) != 0;
}

static int dot_string(const char *s, size_t len)
{
    size_t i, atom = 0;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (atom == 0)
                return 0;
            atom = 0;
        } else if (c && atext(c)) {
            atom++;
        } else {
            return 0;
        }
    }
    return atom != 0;
}

int remote_path_cat(dstr *out, const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t llen = at ? (size_t)(at - addr) : strlen(addr);
    size_t i;

    if (dstr_catc(out, '<') == -1)
        return -1;
    if (*addr == 0)
        return dstr_catc(out, '>');
    if (dot_string(addr, llen)) {
        if (dstr_catb(out, addr, llen) == -1)
            return -1;
    } else {
        if (dstr_catc(out, '"') == -1)
            return -1;
        for (i = 0; i < llen; i++) {
            if ((addr[i] == '"' || addr[i] == '\\') &&
                dstr_catc(out, '\\') == -1)
                return -1;
            if (dstr_catc(out, addr[i]) == -1)
                return -1;
        }
        if (dstr_catc(out, '"') == -1)
            return -1;
    }
    if (at && dstr_cats(out, at) == -1)
        return -1;
    return dstr_catc(out, '>');
}
