/*
 * remote_tcpto: remember remote addresses that recently refused or timed
 * out, so that deliveries skip them for a while instead of waiting on a
 * dead host again and again (qmail's tcpto).
 *
 * State file: queue/lock/tcpto (relative to the home), at most
 * REMOTE_TCPTO_SLOTS records of 32 bytes; shared by all qmail-remote
 * processes, each read-modify-write under an exclusive flock.  A record:
 *
 *   byte 0      family: 0 free, 4 IPv4, 6 IPv6
 *   byte 1      failures in a row (at most 255)
 *   bytes 2-7   zero
 *   bytes 8-15  time of the last failure, seconds since the epoch,
 *               little-endian
 *   bytes 16-31 the address (IPv4: the first 4 bytes)
 *
 * An address with n failures in a row is skipped until
 * REMOTE_TCPTO_BASE * 2^(n-1) seconds after the last one, at most
 * REMOTE_TCPTO_MAX (2, 4, 8, ... 60 minutes).  A failure during that
 * pause (a delivery that started before it) changes nothing; one more
 * than 2 * REMOTE_TCPTO_MAX after the last starts the count again; a
 * successful connection forgets the address.  When the file is full the
 * record with the oldest failure is reused.
 *
 * The file is only advice: when it is missing, unreadable or damaged,
 * nothing is skipped, and an address being skipped only ever makes a
 * delivery temporary, never permanent.
 */
#ifndef REMOTE_TCPTO_H
#define REMOTE_TCPTO_H

#include <stdint.h>

#include "remote_ip.h"

#define REMOTE_TCPTO_PATH "queue/lock/tcpto"
#define REMOTE_TCPTO_SLOTS 128
#define REMOTE_TCPTO_RECORD 32
#define REMOTE_TCPTO_BASE 120
#define REMOTE_TCPTO_MAX 3600

/* Seconds an address with `failures` failures in a row is skipped. */
int64_t remote_tcpto_backoff(unsigned failures);
/* 1 if ip is to be skipped at time now (*until, if not NULL, gets the end
 * of the pause), 0 if not or when the file cannot tell. */
int remote_tcpto_dead(const char *path, const remote_ip *ip, int64_t now,
                      int64_t *until);
/* Record a refused or timed-out connection to ip at time now. */
void remote_tcpto_failed(const char *path, const remote_ip *ip,
                         int64_t now);
/* Record a successful connection: forget ip. */
void remote_tcpto_ok(const char *path, const remote_ip *ip);

#endif
