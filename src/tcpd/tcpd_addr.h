/*
 * tcpd_addr: IP addresses as qmail-tcpd and qmail-tcprules see them.
 *
 * An address is IPv4 or IPv6.  An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is always turned into the IPv4 address it carries, so
 * that one client has one address whatever socket it came in on, and
 * rules, limits and the environment never see the mapped form.
 *
 * Text forms are the canonical ones of inet_ntop(): dotted quad for IPv4,
 * RFC 5952 (lower case, longest zero run as "::") for IPv6.
 */
#ifndef TCPD_ADDR_H
#define TCPD_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define TCPD_ADDR_STRMAX 46 /* INET6_ADDRSTRLEN, NUL included */

typedef struct tcpd_addr {
    int family;            /* 4 or 6 */
    unsigned char b[16];   /* IPv4 in b[0..3], the rest zero */
} tcpd_addr;

/* An IPv4 or IPv6 literal (no host names, no zone ids, no brackets).
 * Returns 0, or -1 with errno EINVAL. */
int tcpd_addr_parse(const char *s, tcpd_addr *a);
/* From a socket address (AF_INET or AF_INET6); port in host order.
 * Returns 0, or -1 with errno EAFNOSUPPORT. */
int tcpd_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len,
                            tcpd_addr *a, unsigned *port);
/* Canonical text into out. */
void tcpd_addr_format(const tcpd_addr *a, char out[TCPD_ADDR_STRMAX]);
/* 32 or 128. */
unsigned tcpd_addr_bits(const tcpd_addr *a);
/* Clear every bit after the first bits. */
void tcpd_addr_mask(tcpd_addr *a, unsigned bits);
/* 1 if every bit after the first bits is zero. */
int tcpd_addr_is_masked(const tcpd_addr *a, unsigned bits);
/* The key a client is counted under for the per-address limit: an IPv4
 * address by itself, an IPv6 address by its /64 network (one site
 * usually holds a whole /64).  16 bytes, comparable with memcmp. */
void tcpd_addr_limit_key(const tcpd_addr *a, unsigned char key[16]);

#endif
