/* num.c: strict integer scanning and formatting.  See num.h. */
#include "num.h"

#include <errno.h>
#include <string.h>

size_t num_scan_prefix(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ULL - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (i)
        *out = v;
    return i;
}

int num_scan_ulong(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (len == 0) {
        errno = EINVAL;
        return -1;
    }
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') {
            errno = EINVAL;
            return -1;
        }
        d = (unsigned)(s[i] - '0');
        if (v > (~0ULL - d) / 10) {
            errno = ERANGE;
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int num_scan_ulong_str(const char *s, unsigned long long *out)
{
    return num_scan_ulong(s, strlen(s), out);
}

size_t num_fmt_ulong(char *buf, unsigned long long n)
{
    char tmp[NUM_FMT_ULONG];
    size_t i = sizeof tmp, len;

    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    len = sizeof tmp - i;
    memcpy(buf, tmp + i, len);
    buf[len] = 0;
    return len;
}
