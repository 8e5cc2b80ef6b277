/*
 * remote_mx: the DNS data qmail-remote uses, decoded from RDATA in wire
 * format (as the resolver library hands it over), and the order in which
 * to try mail exchangers (RFC 5321 5.1, RFC 7505).
 *
 * Trust: RDATA comes from DNS servers we do not control.  Every length is
 * checked; compression pointers (the library expands them) and names that
 * are not plain host names (letters, digits, '-', '_') are refused, so a
 * name taken from DNS is always safe to print and to query again.
 */
#ifndef REMOTE_MX_H
#define REMOTE_MX_H

#include <stddef.h>

#define REMOTE_NAME_MAX 253

typedef struct remote_mx {
    unsigned pref;
    char name[REMOTE_NAME_MAX + 1];  /* lower case, no final dot; "" is the
                                        root (a null MX target) */
} remote_mx;

/* 1 if name (no final dot) is a host name we will look up and connect
 * to: labels of 1..63 letters, digits, '-' or '_', at most
 * REMOTE_NAME_MAX bytes in all. */
int remote_name_valid(const char *name, size_t len);
/* Decode a wire-format name at p (len bytes available) into out
 * (REMOTE_NAME_MAX + 1 bytes), lower-cased, without the final dot; the
 * root becomes "".  *used gets the bytes the name took.  0 / -1 EINVAL. */
int remote_dname_text(const unsigned char *p, size_t len, size_t *used,
                      char *out);
/* Decode MX RDATA (preference, exchange).  0 / -1 EINVAL. */
int remote_mx_parse(const unsigned char *rdata, size_t len, remote_mx *mx);
/* 1 if the set is a null MX (RFC 7505): a single record whose exchange is
 * the root.  (A root exchange among other records is just unusable.) */
int remote_mx_null(const remote_mx *mx, size_t n);
/* Sort by preference, lowest first, in random order among equal
 * preferences: rnd(arg, bound) returns a number below bound. */
void remote_mx_sort(remote_mx *mx, size_t n,
                    unsigned (*rnd)(void *arg, unsigned bound), void *arg);

#endif
