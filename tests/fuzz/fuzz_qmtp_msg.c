// fuzz-sources: src/qmtpd/qmtpd_pkg.c src/lib/dstr.c src/lib/num.c src/lib/netstr.c src/lib/bio.c src/lib/timeutil.c
/*
 * libFuzzer harness: what qmail-qmtpd and qmail-qmqpd do with the payload
 * of a package's netstrings (src/qmtpd/qmtpd_pkg.c), without a network or
 * a qmail-queue (both replaced by stubs below).
 *
 * Input: byte 0 chooses how the payload is cut into pieces, byte 1 the
 * databytes limit (0: none, else 8 * byte), the rest is the payload of a
 * QMTP message netstring (encoding byte first).  The message decoder is fed
 * the payload whole, byte by byte and in pieces; all three must queue
 * exactly what a plain reference decoder gives (encoding #1: CR LF -> LF,
 * everything else kept; encoding #2: as is), reach the same verdict, queue
 * nothing past databytes and never write to a qmail-queue it abandoned.
 * The same payload fed to the address sink must be marked bad exactly when
 * it holds a control byte, too long exactly when over QUEUE_ADDR_MAX, and
 * keep its first bytes, however it is cut.  Run with `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/qmtpd/qmtpd_pkg.h"

#define MAX 8192

/* ---- stubs: a qmail-queue that records, a Received line ---------------- */

static enum { Q_IDLE, Q_OPEN, Q_ABORTED } qstate;
static char qbuf[2 * MAX + 64];
static size_t qlen;
static int qstarts;

int qqueue_program(dstr *out) { return dstr_copys(out, "qmail-queue") == -1 ? -1 : dstr_cat0(out); }

int qqueue_start(qqueue *q, const char *prog, int timeout)
{
    if (qstate == Q_OPEN)
        abort(); /* two at once */
    qstate = Q_OPEN;
    qstarts++;
    qlen = 0;
    q->pid = 1;
    q->failed = 0;
    return 0;
}

void qqueue_put(qqueue *q, const void *data, size_t n)
{
    if (qstate != Q_OPEN)
        abort(); /* written after being abandoned */
    if (n > sizeof qbuf - qlen)
        abort();
    memcpy(qbuf + qlen, data, n);
    qlen += n;
}

int qqueue_finish(qqueue *q, const char *env, size_t n)
{
    if (qstate != Q_OPEN)
        abort();
    qstate = Q_IDLE;
    return 0;
}

void qqueue_abort(qqueue *q)
{
    if (qstate != Q_OPEN)
        abort();
    qstate = Q_ABORTED;
    q->pid = -1;
}

int received_line(dstr *out, const char *helo, const char *remotehost,
                  const char *remoteip, const char *me, const char *protocol,
                  time_t t)
{
    return dstr_copys(out, "R\n");
}

void log_line(const char *fmt, ...) {}
void log_errno(const char *fmt, ...) {}
const char *list_first(const dstr *d) { return 0; }
const char *list_next(const dstr *d, const char *p) { return 0; }

/* ---- the reference ----------------------------------------------------- */

/* Decode payload (n bytes) as the protocol says: the expected flaw and
 * the decoded message in out. */
static qmtpd_msg_flaw reference(const unsigned char *p, size_t n,
                                unsigned long long databytes, char *out,
                                size_t *outlen)
{
    size_t i;

    *outlen = 0;
    if (n == 0)
        return QMTPD_MSG_EMPTY;
    if (p[0] != '\r' && p[0] != '\n')
        return QMTPD_MSG_BADENC;
    for (i = 1; i < n; i++) {
        if (p[0] == '\r' && p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            continue; /* the CR of a CR LF */
        out[(*outlen)++] = (char)p[i];
    }
    if (databytes && *outlen > databytes)
        return QMTPD_MSG_TOOBIG;
    return QMTPD_MSG_OK;
}

/* Feed p to the message sink in pieces of the sizes from cut (0: whole). */
static void decode(qmtpd_msg *m, const qmtpd_conf *c, const unsigned char *p,
                   size_t n, unsigned cut)
{
    size_t pos = 0;
    unsigned x = cut;

    qstate = Q_IDLE;
    qlen = 0;
    qstarts = 0;
    qmtpd_msg_init(m, c, "QMTP", QMTPD_ENC_UNKNOWN);
    while (pos < n) {
        size_t k = n - pos;
        if (cut == 1)
            k = 1;
        else if (cut) {
            x = x * 1103515245u + 12345u;
            k = (x >> 16) % 23 + 1;
            if (k > n - pos)
                k = n - pos;
        }
        if (qmtpd_msg_sink(m, (const char *)p + pos, k) != 0)
            abort();
        pos += k;
    }
    qmtpd_msg_end(m);
}

static void check_msg(const unsigned char *p, size_t n,
                      unsigned long long databytes, unsigned cut)
{
    static qmtpd_msg m;
    static qmtpd_conf c;
    static char want[MAX];
    size_t wantlen;
    qmtpd_msg_flaw flaw = reference(p, n, databytes, want, &wantlen);

    c.databytes = databytes;
    decode(&m, &c, p, n, cut);
    if (m.flaw != flaw)
        abort();
    if (flaw == QMTPD_MSG_OK) {
        /* queued: our line, then exactly the decoded message */
        if (qstate != Q_OPEN || qstarts != 1 || !m.started)
            abort();
        if (qlen != 2 + wantlen || memcmp(qbuf, "R\n", 2) != 0 ||
            memcmp(qbuf + 2, want, wantlen) != 0 || m.bytes != wantlen)
            abort();
        qmtpd_msg_abort(&m);
    } else {
        /* refused: qmail-queue never ran or was abandoned */
        if (qstate == Q_OPEN || m.started)
            abort();
        if (databytes && qlen > 2 + databytes)
            abort();
    }
    qmtpd_msg_abort(&m); /* safe twice */
}

static void check_addr(const unsigned char *p, size_t n, unsigned cut)
{
    static qmtpd_addr a;
    size_t i, pos = 0, keep;
    int bad = 0;
    unsigned x = cut;

    for (i = 0; i < n; i++)
        if (p[i] < 32 || p[i] == 127)
            bad = 1;
    qmtpd_addr_init(&a);
    while (pos < n) {
        size_t k = cut ? (x = x * 1103515245u + 12345u, (x >> 16) % 7 + 1)
                       : n - pos;
        if (k > n - pos)
            k = n - pos;
        qmtpd_addr_sink(&a, (const char *)p + pos, k);
        pos += k;
    }
    keep = n > QUEUE_ADDR_MAX ? QUEUE_ADDR_MAX : n;
    if (a.bad != bad || a.toolong != (n > QUEUE_ADDR_MAX) || a.len != keep ||
        memcmp(a.addr, p, keep) != 0 || a.addr[keep] != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned cut;
    unsigned long long databytes;

    if (size < 2 || size - 2 > MAX)
        return 0;
    cut = data[0] | 2u; /* a seed for pieces other than 0 and 1 */
    databytes = 8ULL * data[1];
    data += 2;
    size -= 2;
    check_msg(data, size, databytes, 0);
    check_msg(data, size, databytes, 1);
    check_msg(data, size, databytes, cut);
    check_addr(data, size, 0);
    check_addr(data, size, cut);
    return 0;
}
