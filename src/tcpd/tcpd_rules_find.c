/*
 * tcpd_rules_find.c: qmail-tcpd's lookup of a client in the compiled
 * rules.  See tcpd_rules.h for the matching order.
 *
 * The file is opened anew for every connection, so qmail-tcprules can
 * replace it (by rename) at any time and the next client sees the new
 * rules; nothing is cached.  The cdb is checked to be ours (#format)
 * before it is believed: a file from another tcprules would otherwise
 * match nothing and silently allow everyone.
 */
#include "tcpd_rules.h"

#include <cdb.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

typedef struct rules_file {
    int fd;
    struct cdb c;
} rules_file;

static int rules_open(rules_file *rf, const char *path)
{
    static const char want[] = TCPD_RULES_FORMAT;
    char buf[sizeof want];
    int saved, r;

    rf->fd = file_open_read(path);
    if (rf->fd == -1)
        return -1;
    if (cdb_init(&rf->c, rf->fd) != 0) {
        saved = errno ? errno : EPROTO;
        close(rf->fd);
        errno = saved;
        return -1;
    }
    r = cdb_find(&rf->c, TCPD_RULES_FORMAT_KEY,
                 sizeof TCPD_RULES_FORMAT_KEY - 1);
    if (r > 0 && cdb_datalen(&rf->c) == sizeof want - 1 &&
        cdb_read(&rf->c, buf, sizeof want - 1, cdb_datapos(&rf->c)) == 0 &&
        memcmp(buf, want, sizeof want - 1) == 0)
        return 0;
    saved = r < 0 ? (errno ? errno : EPROTO) : EINVAL;
    cdb_free(&rf->c);
    close(rf->fd);
    errno = saved;
    return -1;
}

static void rules_close(rules_file *rf)
{
    int saved = errno;
    cdb_free(&rf->c);
    close(rf->fd);
    errno = saved;
}

/* 1 found (value read), 0 not, -1 error */
static int probe(rules_file *rf, const dstr *key, dstr *value)
{
    unsigned vlen;
    int r = cdb_find(&rf->c, key->len ? key->s : "", (unsigned)key->len);

    if (r <= 0) {
        if (r < 0 && !errno)
            errno = EPROTO;
        return r < 0 ? -1 : 0;
    }
    vlen = cdb_datalen(&rf->c);
    value->len = 0;
    if (dstr_reserve(value, vlen) == -1)
        return -1;
    if (cdb_read(&rf->c, value->s, vlen, cdb_datapos(&rf->c)) != 0) {
        if (!errno)
            errno = EPROTO;
        return -1;
    }
    value->len = vlen;
    return 1;
}

int tcpd_rules_find(const char *path, const tcpd_addr *a, dstr *value,
                    dstr *key)
{
    rules_file rf;
    tcpd_prefix p;
    int bits, r = 0;

    if (rules_open(&rf, path) == -1)
        return -1;
    for (bits = (int)tcpd_addr_bits(a); bits >= 0; bits--) {
        p.addr = *a;
        p.bits = (unsigned)bits;
        tcpd_addr_mask(&p.addr, p.bits);
        if (tcpd_prefix_key(&p, key) == -1) {
            r = -1;
            goto out;
        }
        r = probe(&rf, key, value);
        if (r != 0)
            goto out;
    }
    memset(&p, 0, sizeof p);
    if (tcpd_prefix_key(&p, key) == -1) {
        r = -1;
        goto out;
    }
    r = probe(&rf, key, value);
out:
    rules_close(&rf);
    return r;
}

int tcpd_rules_decide(const char *path, const tcpd_addr *a, dstr *value,
                      dstr *key, tcpd_verdict *v)
{
    int r = tcpd_rules_find(path, a, value, key);

    if (r == -1)
        return -1;
    if (r == 0) {
        memset(v, 0, sizeof *v);
        v->allow = 1;
        key->len = 0;
        return 0;
    }
    return tcpd_verdict_parse(value->s, value->len, v);
}

int tcpd_rules_check(const char *path)
{
    rules_file rf;

    if (rules_open(&rf, path) == -1)
        return -1;
    rules_close(&rf);
    return 0;
}
