/*
 * num: strict integer scanning and formatting.
 *
 * num_scan_* accept only ASCII digits (no sign, no spaces, no empty string)
 * and fail with -1/ERANGE on overflow or -1/EINVAL on bad syntax.
 */
#ifndef NUM_H
#define NUM_H

#include <stddef.h>

int num_scan_ulong(const char *s, size_t len, unsigned long long *out);
/* C string variant: the whole string must be a number. */
int num_scan_ulong_str(const char *s, unsigned long long *out);
/* Scan a leading number; returns digits consumed (0 if none or overflow). */
size_t num_scan_prefix(const char *s, size_t len, unsigned long long *out);
/* Format n in decimal into buf (at least NUM_FMT_ULONG bytes); returns the
 * length, buf is NUL-terminated. */
#define NUM_FMT_ULONG 21
size_t num_fmt_ulong(char *buf, unsigned long long n);

#endif
