/*
 * pop3_throttle: failed POP3 logins per client address, across
 * connections.
 *
 * qmail-popup counts each login attempt of an address in a small table
 * file, $QMAILHOME/run/pop3-failures, before it checks the password, and
 * takes the attempt back when the login succeeded.  The check and the
 * count are one step under the lock, so parallel connections cannot
 * slip past the limit: when an address has control/pop3addrfailures
 * failed (or still unfinished) logins within control/pop3addrwindow
 * seconds of its first one, qmail-popup refuses its logins (without
 * checking the password) until that window has passed.  IPv6 clients
 * are counted per /64 network, the block a single host usually holds;
 * IPv4-mapped IPv6 addresses count as the IPv4 address.
 *
 * The table has a fixed size (POP3_THROTTLE_SLOTS records of 32 octets),
 * so no client can make it grow: an address hashes to a few slots, and a
 * new one takes a free or expired slot there, else the oldest.  An
 * attacker with many networks can push others' counts out; the limit is
 * against password guessing from one place, and qmail-tcpd's per-address
 * connection limit and the per-connection failure limit still hold.
 * Records are read and written under an exclusive flock() on the file.
 *
 * Trust: the file is written only by qmail-popup; a record that makes no
 * sense (a time in the future) counts as expired.
 */
#ifndef POP3_THROTTLE_H
#define POP3_THROTTLE_H

#include <stdint.h>

#define POP3_THROTTLE_SLOTS 4096
#define POP3_THROTTLE_PROBE 8
#define POP3_THROTTLE_RECORD 32

struct pop3_throttle_key {
    unsigned char b[17]; /* 4 or 6, then the address (IPv6: /64) */
};

/* The key for a textual address ($TCPREMOTEIP).  Returns 0, or -1 if ip
 * is not an IPv4 or IPv6 address. */
int pop3_throttle_key(const char *ip, struct pop3_throttle_key *k);
/* Open (creating, mode 0600) the table file: a descriptor or -1. */
int pop3_throttle_open(const char *path);
/* Failures of k in the current window at time now (seconds): >= 0, or -1
 * on error. */
long pop3_throttle_count(int fd, const struct pop3_throttle_key *k,
                         int64_t now, int64_t window);
/* Count one more failure of k; returns the new count, or -1 on error. */
long pop3_throttle_add(int fd, const struct pop3_throttle_key *k,
                       int64_t now, int64_t window);
/* In one step under the lock: if k has fewer than limit failures in the
 * current window, count one more and return 1; else count nothing and
 * return 0.  -1 on error. */
int pop3_throttle_try(int fd, const struct pop3_throttle_key *k, int64_t now,
                      int64_t window, unsigned long limit);
/* Take back one attempt of k counted at time when (the login succeeded),
 * if the window it was counted in is still the current one.  Returns 0,
 * or -1 on error. */
int pop3_throttle_refund(int fd, const struct pop3_throttle_key *k,
                         int64_t when, int64_t now, int64_t window);

#endif
