/* remote_mx.c: MX records and their order.  See remote_mx.h. */
#include "remote_mx.h"

#include <errno.h>
#include <string.h>

static int labelchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int remote_name_valid(const char *name, size_t len)
{
    size_t i, label = 0;

    if (len == 0 || len > REMOTE_NAME_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        if (name[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (labelchar((unsigned char)name[i]) && ++label <= 63) {
            continue;
        } else {
            return 0;
        }
    }
    return label != 0;
}

int remote_dname_text(const unsigned char *p, size_t len, size_t *used,
                      char *out)
{
    size_t i = 0, o = 0;

    for (;;) {
        size_t l, j;

        if (i >= len)
            goto bad;
        l = p[i++];
        if (l == 0)
            break;
        if (l > 63 || l > len - i)
            goto bad; /* a compression pointer, or past the end */
        if (o + (o ? 1 : 0) + l > REMOTE_NAME_MAX)
            goto bad;
        if (o)
            out[o++] = '.';
        for (j = 0; j < l; j++) {
            unsigned char c = p[i + j];
            if (!labelchar(c))
                goto bad;
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        i += l;
    }
    out[o] = 0;
    *used = i;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

int remote_mx_parse(const unsigned char *rdata, size_t len, remote_mx *mx)
{
    size_t used;

    if (len < 3)
        goto bad;
    mx->pref = (unsigned)rdata[0] << 8 | rdata[1];
    if (remote_dname_text(rdata + 2, len - 2, &used, mx->name) == -1)
        return -1;
    if (used != len - 2)
        goto bad;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

int remote_mx_null(const remote_mx *mx, size_t n)
{
    return n == 1 && mx[0].name[0] == 0;
}

void remote_mx_sort(remote_mx *mx, size_t n,
                    unsigned (*rnd)(void *arg, unsigned bound), void *arg)
{
    size_t i, j;
    remote_mx t;

    /* shuffle (Fisher-Yates), then a stable sort by preference: equal
     * preferences end up in random order */
    for (i = n; i > 1; i--) {
        j = rnd(arg, (unsigned)i);
        if (j >= i)
            j = i - 1;
        t = mx[i - 1];
        mx[i - 1] = mx[j];
        mx[j] = t;
    }
    for (i = 1; i < n; i++) {
        t = mx[i];
        for (j = i; j > 0 && mx[j - 1].pref > t.pref; j--)
            mx[j] = mx[j - 1];
        mx[j] = t;
    }
}
