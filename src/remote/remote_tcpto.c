/*
 * remote_tcpto.c: the dead-host memory.  See remote_tcpto.h.
 * The state file is ours (written only by qmail-remote), but it is still
 * parsed defensively: a damaged record is ignored, never trusted.
 */
#include "remote_tcpto.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_SIZE (REMOTE_TCPTO_SLOTS * REMOTE_TCPTO_RECORD)

int64_t remote_tcpto_backoff(unsigned failures)
{
    int64_t t = REMOTE_TCPTO_BASE;

    if (failures == 0)
        return 0;
    while (--failures && t < REMOTE_TCPTO_MAX)
        t *= 2;
    return t < REMOTE_TCPTO_MAX ? t : REMOTE_TCPTO_MAX;
}

static int open_locked(const char *path, int write)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO put in its place must not hang us in open() */
    int fd = open(path,
                  (write ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW |
                      O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                  0644);

    if (fd == -1)
        return -1;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
        close(fd);
        return -1;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        flock(fd, write ? LOCK_EX : LOCK_SH) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read the table; a short file reads as free records. */
static int load(int fd, unsigned char *t)
{
    size_t got = 0;

    memset(t, 0, FILE_SIZE);
    while (got < FILE_SIZE) {
        ssize_t r = pread(fd, t + got, FILE_SIZE - got, (off_t)got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return 0;
}

static void store(int fd, const unsigned char *t)
{
    size_t done = 0;

    while (done < FILE_SIZE) {
        ssize_t w = pwrite(fd, t + done, FILE_SIZE - done, (off_t)done);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        done += (size_t)w;
    }
}

static int64_t get_time(const unsigned char *rec)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = v << 8 | rec[8 + i];
    return (int64_t)v;
}

static void put_time(unsigned char *rec, int64_t when)
{
    uint64_t v = (uint64_t)when;
    int i;
    for (i = 0; i < 8; i++) {
        rec[8 + i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static unsigned char family_byte(const remote_ip *ip)
{
    return ip->family == AF_INET6 ? 6 : 4;
}

static unsigned char *find(unsigned char *t, const remote_ip *ip)
{
    size_t i, n = ip->family == AF_INET6 ? 16 : 4;

    for (i = 0; i < REMOTE_TCPTO_SLOTS; i++) {
        unsigned char *rec = t + i * REMOTE_TCPTO_RECORD;
        if (rec[0] == family_byte(ip) && memcmp(rec + 16, ip->addr, n) == 0)
            return rec;
    }
    return 0;
}

int remote_tcpto_dead(const char *path, const remote_ip *ip, int64_t now,
                      int64_t *until)
{
    unsigned char t[FILE_SIZE];
    unsigned char *rec;
    int64_t last, end;
    int fd = open_locked(path, 0);

    if (fd == -1)
        return 0;
    if (load(fd, t) == -1) {
        close(fd);
        return 0;
    }
    close(fd);
    rec = find(t, ip);
    if (!rec || rec[1] == 0)
        return 0;
    last = get_time(rec);
    if (last > now)
        return 0; /* the clock went back: do not trust the record */
    end = last + remote_tcpto_backoff(rec[1]);
    if (now >= end)
        return 0;
    if (until)
        *until = end;
    return 1;
}

void remote_tcpto_failed(const char *path, const remote_ip *ip, int64_t now)
{
    unsigned char t[FILE_SIZE];
    unsigned char *rec;
    int fd = open_locked(path, 1);
    size_t i;

    if (fd == -1)
        return;
    if (load(fd, t) == -1) {
        close(fd);
        return;
    }
    rec = find(t, ip);
    if (rec) {
        int64_t last = get_time(rec);
        if (last > now || now - last > 2 * REMOTE_TCPTO_MAX) {
            rec[1] = 1; /* an old story (or a clock that went back) */
        } else if (now < last + remote_tcpto_backoff(rec[1])) {
            /* another delivery failed during the pause that this address
             * is already in (it started before the pause): nothing new */
            close(fd);
            return;
        } else if (rec[1] < 255) {
            rec[1]++;
        }
    } else {
        /* a free record, else the one with the oldest failure */
        for (i = 0; i < REMOTE_TCPTO_SLOTS; i++) {
            unsigned char *r = t + i * REMOTE_TCPTO_RECORD;
            if (r[0] != 4 && r[0] != 6) {
                rec = r;
                break;
            }
            if (!rec || get_time(r) < get_time(rec))
                rec = r;
        }
        memset(rec, 0, REMOTE_TCPTO_RECORD);
        rec[0] = family_byte(ip);
        rec[1] = 1;
        memcpy(rec + 16, ip->addr, ip->family == AF_INET6 ? 16 : 4);
    }
    put_time(rec, now);
    store(fd, t);
    close(fd);
}

void remote_tcpto_ok(const char *path, const remote_ip *ip)
{
    unsigned char t[FILE_SIZE];
    unsigned char *rec;
    int fd = open_locked(path, 0);
    int known;

    /* a shared look first: most hosts were never recorded */
    if (fd == -1)
        return;
    known = load(fd, t) == 0 && find(t, ip) != 0;
    close(fd);
    if (!known)
        return;
    fd = open_locked(path, 1);
    if (fd == -1)
        return;
    if (load(fd, t) == 0 && (rec = find(t, ip)) != 0) {
        memset(rec, 0, REMOTE_TCPTO_RECORD);
        store(fd, t);
    }
    close(fd);
}
