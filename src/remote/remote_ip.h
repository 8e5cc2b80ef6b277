/*
 * remote_ip: IPv4/IPv6 addresses of remote hosts as plain values, and the
 * two text forms qmail-remote meets: plain ("192.0.2.1", "2001:db8::1")
 * and address literals in brackets ("[192.0.2.1]", "[IPv6:2001:db8::1]",
 * also "[2001:db8::1]"), as in smtproutes, control files and domains.
 *
 * Used by the DNS, connection, tcpto and routing modules.  Input comes
 * from control files and from the queue (a recipient's domain): every
 * parser here is strict and bounded.
 */
#ifndef REMOTE_IP_H
#define REMOTE_IP_H

#include <stddef.h>

/* room for any formatted address, NUL included (INET6_ADDRSTRLEN) */
#define REMOTE_IP_FMT 46

typedef struct remote_ip {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];  /* network order; IPv4 uses the first 4 */
} remote_ip;

/* "192.0.2.1" or "2001:db8::1" (len bytes, no NUL needed).  0 / -1. */
int remote_ip_parse(const char *s, size_t len, remote_ip *ip);
/* "[192.0.2.1]", "[IPv6:2001:db8::1]" (prefix case-insensitive) or
 * "[2001:db8::1]".  0 / -1 (EINVAL). */
int remote_ip_literal(const char *s, size_t len, remote_ip *ip);
/* Plain text form into buf (REMOTE_IP_FMT bytes), NUL-terminated. */
void remote_ip_fmt(const remote_ip *ip, char buf[REMOTE_IP_FMT]);
/* 1 if a and b are the same address. */
int remote_ip_equal(const remote_ip *a, const remote_ip *b);

#endif
