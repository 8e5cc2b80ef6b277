/*
 * dstr.c: growable byte strings.  See dstr.h.
 * Trusts nothing about sizes: every growth is overflow-checked.
 */
#include "dstr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dstr_reserve(dstr *d, size_t n)
{
    size_t want, newcap;
    char *p;

    if (n > SIZE_MAX - d->len - 1) {
        errno = EOVERFLOW;
        return -1;
    }
    want = d->len + n + 1; /* room for an optional NUL */
    if (want <= d->cap)
        return 0;
    newcap = d->cap ? d->cap : 32;
    while (newcap < want) {
        if (newcap > SIZE_MAX / 2) {
            newcap = want;
            break;
        }
        newcap *= 2;
    }
    p = realloc(d->s, newcap);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    d->s = p;
    d->cap = newcap;
    return 0;
}

int dstr_catb(dstr *d, const void *buf, size_t n)
{
    /* buf may point into d itself (dstr_cat(d, d)): growing moves it, so
     * remember its offset.  Compared as integers: the pointers may belong
     * to different objects. */
    uintptr_t b = (uintptr_t)buf, s = (uintptr_t)d->s;
    int inside = d->s && b >= s && b < s + d->cap;
    size_t off = inside ? (size_t)(b - s) : 0;

    if (dstr_reserve(d, n) == -1)
        return -1;
    if (inside)
        buf = d->s + off;
    if (n)
        memmove(d->s + d->len, buf, n);
    d->len += n;
    return 0;
}

int dstr_cats(dstr *d, const char *s) { return dstr_catb(d, s, strlen(s)); }

int dstr_catc(dstr *d, char c) { return dstr_catb(d, &c, 1); }

int dstr_copyb(dstr *d, const void *buf, size_t n)
{
    d->len = 0;
    return dstr_catb(d, buf, n);
}

int dstr_copys(dstr *d, const char *s) { return dstr_copyb(d, s, strlen(s)); }

int dstr_copy(dstr *d, const dstr *from)
{
    return dstr_copyb(d, from->s, from->len);
}

int dstr_cat(dstr *d, const dstr *from)
{
    return dstr_catb(d, from->s, from->len);
}

int dstr_catulong(dstr *d, unsigned long long n)
{
    char buf[24];
    size_t i = sizeof buf;

    do {
        buf[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    return dstr_catb(d, buf + i, sizeof buf - i);
}

int dstr_catlong(dstr *d, long long n)
{
    if (n < 0) {
        if (dstr_catc(d, '-') == -1)
            return -1;
        return dstr_catulong(d, (unsigned long long)0 - (unsigned long long)n);
    }
    return dstr_catulong(d, (unsigned long long)n);
}

int dstr_cat0(dstr *d)
{
    if (dstr_reserve(d, 0) == -1) /* reserve always keeps one spare byte */
        return -1;
    d->s[d->len] = 0;
    return 0;
}

int dstr_catf(dstr *d, const char *fmt, ...)
{
    va_list ap;
    char small[256], *big;
    int n, m, r;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    if ((size_t)n < sizeof small)
        return dstr_catb(d, small, (size_t)n);
    /* Format into a buffer of its own: an argument may point into d,
     * which growing d would free. */
    big = malloc((size_t)n + 1);
    if (!big) {
        errno = ENOMEM;
        return -1;
    }
    va_start(ap, fmt);
    m = vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r = m == n ? dstr_catb(d, big, (size_t)n) : -1;
    if (m != n)
        errno = EINVAL;
    free(big);
    return r;
}

void dstr_free(dstr *d)
{
    free(d->s);
    d->s = 0;
    d->len = d->cap = 0;
}

int dstr_starts(const dstr *d, const char *s)
{
    size_t n = strlen(s);
    return d->len >= n && (n == 0 || memcmp(d->s, s, n) == 0);
}

int dstr_equals(const dstr *d, const char *s)
{
    size_t n = strlen(s);
    return d->len == n && (n == 0 || memcmp(d->s, s, n) == 0);
}

void dstr_lower(dstr *d)
{
    size_t i;
    for (i = 0; i < d->len; i++)
        if (d->s[i] >= 'A' && d->s[i] <= 'Z')
            d->s[i] = (char)(d->s[i] + 32);
}
