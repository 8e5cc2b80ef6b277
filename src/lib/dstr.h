/*
 * dstr: growable byte strings that carry their length.
 *
 * Every function that grows a dstr checks the size arithmetic and returns
 * -1 with errno ENOMEM (allocation failed) or EOVERFLOW (size would wrap)
 * instead of overflowing.  Contents may hold NUL bytes; s is not
 * NUL-terminated unless dstr_cat0() was called.  A zeroed struct is an
 * empty, valid dstr.
 */
#ifndef DSTR_H
#define DSTR_H

#include <stddef.h>

typedef struct dstr {
    char *s;      /* contents; NULL while nothing was ever allocated */
    size_t len;   /* bytes in use */
    size_t cap;   /* bytes allocated */
} dstr;

#define DSTR_ZERO {0, 0, 0}

/* Make room for at least n more bytes beyond len. */
int dstr_reserve(dstr *d, size_t n);
int dstr_catb(dstr *d, const void *buf, size_t n);
int dstr_cats(dstr *d, const char *s);
int dstr_catc(dstr *d, char c);
int dstr_copyb(dstr *d, const void *buf, size_t n);
int dstr_copys(dstr *d, const char *s);
int dstr_copy(dstr *d, const dstr *from);
int dstr_cat(dstr *d, const dstr *from);
/* Append a decimal number. */
int dstr_catulong(dstr *d, unsigned long long n);
int dstr_catlong(dstr *d, long long n);
/* Append a NUL terminator without counting it in len: d->s is then a C
 * string.  Use when passing d->s to the C library. */
int dstr_cat0(dstr *d);
/* Append printf-formatted text (bounded by vsnprintf's count). */
int dstr_catf(dstr *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void dstr_free(dstr *d);
/* 1 if d starts with / ends with / equals the C string s. */
int dstr_starts(const dstr *d, const char *s);
int dstr_equals(const dstr *d, const char *s);
/* Lower-case ASCII letters in place. */
void dstr_lower(dstr *d);

#endif
