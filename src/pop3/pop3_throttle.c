/*
 * pop3_throttle.c: the table of failed logins per address.  See
 * pop3_throttle.h.  Called by qmail-popup only.
 *
 * Record layout (32 octets, native byte order: the file never leaves the
 * machine): key (17 octets), 3 octets zero, count (uint32), start of the
 * window (int64, seconds since the epoch).  A record of zeros is free.
 */
#include "pop3_throttle.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct record {
    unsigned char key[17];
    uint32_t count;
    int64_t start;
};

int pop3_throttle_key(const char *ip, struct pop3_throttle_key *k)
{
    unsigned char a6[16];
    unsigned char a4[4];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};

    memset(k, 0, sizeof *k);
    if (!ip || !*ip || strlen(ip) > 64)
        return -1;
    if (inet_pton(AF_INET, ip, a4) == 1) {
        k->b[0] = 4;
        memcpy(k->b + 1, a4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, ip, a6) == 1) {
        if (memcmp(a6, mapped, sizeof mapped) == 0) {
            k->b[0] = 4;
            memcpy(k->b + 1, a6 + 12, 4);
            return 0;
        }
        k->b[0] = 6;
        memcpy(k->b + 1, a6, 8); /* the /64 */
        return 0;
    }
    return -1;
}

int pop3_throttle_open(const char *path)
{
    return open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                0600);
}

static uint32_t slot_of(const struct pop3_throttle_key *k)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < sizeof k->b; i++) {
        h ^= k->b[i];
        h *= 16777619u;
    }
    return h % POP3_THROTTLE_SLOTS;
}

static void decode(const unsigned char *raw, struct record *r)
{
    memcpy(r->key, raw, 17);
    memcpy(&r->count, raw + 20, 4);
    memcpy(&r->start, raw + 24, 8);
}

static void encode(const struct record *r, unsigned char *raw)
{
    memset(raw, 0, POP3_THROTTLE_RECORD);
    memcpy(raw, r->key, 17);
    memcpy(raw + 20, &r->count, 4);
    memcpy(raw + 24, &r->start, 8);
}

static int expired(const struct record *r, int64_t now, int64_t window)
{
    return r->count == 0 || r->start > now || now - r->start >= window;
}

/* Under the lock: find k's slot (or the one it would take).  *found says
 * whether it holds k already. */
static int locate(int fd, const struct pop3_throttle_key *k, int64_t now,
                  int64_t window, uint32_t *slot, struct record *rec,
                  int *found)
{
    unsigned char raw[POP3_THROTTLE_RECORD * POP3_THROTTLE_PROBE];
    uint32_t first = slot_of(k), best = first;
    int64_t oldest = INT64_MAX;
    int have_free = 0;
    ssize_t got;
    size_t i;

    if (first + POP3_THROTTLE_PROBE > POP3_THROTTLE_SLOTS)
        first = POP3_THROTTLE_SLOTS - POP3_THROTTLE_PROBE;
    memset(raw, 0, sizeof raw);
    do
        got = pread(fd, raw, sizeof raw, (off_t)first * POP3_THROTTLE_RECORD);
    while (got == -1 && errno == EINTR);
    if (got == -1)
        return -1;
    /* a short read is the end of the file: the rest stays zero (free) */
    *found = 0;
    for (i = 0; i < POP3_THROTTLE_PROBE; i++) {
        struct record r;
        decode(raw + i * POP3_THROTTLE_RECORD, &r);
        if (memcmp(r.key, k->b, sizeof k->b) == 0) {
            *slot = first + (uint32_t)i;
            *rec = r;
            *found = 1;
            return 0;
        }
        if (expired(&r, now, window)) {
            if (!have_free) {
                have_free = 1;
                best = first + (uint32_t)i;
            }
        } else if (!have_free && r.start < oldest) {
            oldest = r.start;
            best = first + (uint32_t)i;
        }
    }
    *slot = best;
    memset(rec, 0, sizeof *rec);
    return 0;
}

static int lock(int fd)
{
    while (flock(fd, LOCK_EX) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

long pop3_throttle_count(int fd, const struct pop3_throttle_key *k,
                         int64_t now, int64_t window)
{
    struct record r;
    uint32_t slot;
    int found;
    long n = 0;

    if (lock(fd) == -1)
        return -1;
    if (locate(fd, k, now, window, &slot, &r, &found) == -1) {
        flock(fd, LOCK_UN);
        return -1;
    }
    flock(fd, LOCK_UN);
    if (found && !expired(&r, now, window))
        n = (long)r.count;
    return n;
}

static int store(int fd, uint32_t slot, const struct record *r)
{
    unsigned char raw[POP3_THROTTLE_RECORD];
    ssize_t w;

    encode(r, raw);
    do
        w = pwrite(fd, raw, sizeof raw, (off_t)slot * POP3_THROTTLE_RECORD);
    while (w == -1 && errno == EINTR);
    if (w == -1)
        return -1;
    if (w != (ssize_t)sizeof raw) {
        errno = EIO;
        return -1;
    }
    return 0;
}

/* Under the lock: count one more for k if it has fewer than limit (0:
 * no limit).  1 counted (*count the new count), 0 not, -1 error. */
static int add_locked(int fd, const struct pop3_throttle_key *k, int64_t now,
                      int64_t window, unsigned long limit, long *count)
{
    struct record r;
    uint32_t slot;
    int found;

    if (locate(fd, k, now, window, &slot, &r, &found) == -1)
        return -1;
    if (!found || expired(&r, now, window)) {
        memcpy(r.key, k->b, sizeof k->b);
        r.count = 0;
        r.start = now;
    }
    if (limit && r.count >= limit) {
        *count = (long)r.count;
        return 0;
    }
    if (r.count < UINT32_MAX)
        r.count++;
    if (store(fd, slot, &r) == -1)
        return -1;
    *count = (long)r.count;
    return 1;
}

long pop3_throttle_add(int fd, const struct pop3_throttle_key *k,
                       int64_t now, int64_t window)
{
    long n;
    int r;

    if (lock(fd) == -1)
        return -1;
    r = add_locked(fd, k, now, window, 0, &n);
    flock(fd, LOCK_UN);
    return r == -1 ? -1 : n;
}

int pop3_throttle_try(int fd, const struct pop3_throttle_key *k, int64_t now,
                      int64_t window, unsigned long limit)
{
    long n;
    int r;

    if (limit == 0) {
        errno = EINVAL;
        return -1;
    }
    if (lock(fd) == -1)
        return -1;
    r = add_locked(fd, k, now, window, limit, &n);
    flock(fd, LOCK_UN);
    return r;
}

int pop3_throttle_refund(int fd, const struct pop3_throttle_key *k,
                         int64_t when, int64_t now, int64_t window)
{
    struct record r;
    uint32_t slot;
    int found, ret = 0;

    if (lock(fd) == -1)
        return -1;
    if (locate(fd, k, now, window, &slot, &r, &found) == -1) {
        ret = -1;
    } else if (found && !expired(&r, now, window) && r.start <= when) {
        /* the attempt was counted in this window: take it back */
        if (--r.count == 0)
            memset(&r, 0, sizeof r); /* the slot is free again */
        ret = store(fd, slot, &r);
    }
    flock(fd, LOCK_UN);
    return ret;
}
