/* qmqpc_input.c: message and envelope from the caller.  See qmqpc_input.h. */
#include "qmqpc_input.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bio.h"
#include "netstr.h"
#include "queue.h"

#define CHUNK 65536

int qmqpc_spool(int in, const dstr *head, int *out, uint64_t *len)
{
    char *buf;
    int fd, code = QQ_WRITE, saved;
    uint64_t n = head->len;

    fd = memfd_create("qmail-qmqpc", MFD_CLOEXEC);
    if (fd == -1)
        return QQ_WRITE;
    buf = malloc(CHUNK);
    if (!buf) {
        code = QQ_NOMEM;
        goto fail;
    }
    if (fd_write_all(fd, head->s, head->len, 0) == -1)
        goto fail;
    for (;;) {
        long r = fd_read_timeout(in, buf, CHUNK, 0);
        if (r == 0)
            break;
        if (r < 0) {
            code = QQ_READ;
            goto fail;
        }
        if (fd_write_all(fd, buf, (size_t)r, 0) == -1)
            goto fail;
        n += (uint64_t)r;
    }
    free(buf);
    *out = fd;
    *len = n;
    return 0;
fail:
    saved = errno;
    free(buf);
    close(fd);
    errno = saved;
    return code;
}

int qmqpc_envelope(int in, dstr *out, size_t *nrcpts, const char **why)
{
    char buf[4096];
    bio b;
    dstr rec = DSTR_ZERO;
    size_t total = 0;
    int first = 1, code = 0;

    bio_init(&b, in, buf, sizeof buf, 0);
    *nrcpts = 0;
    *why = 0;
    for (;;) {
        int toolong = 0;
        int r;
        size_t k;

        rec.len = 0;
        r = bio_getsep(&b, &rec, 0, QUEUE_ADDR_MAX + 2, &toolong);
        if (r == -1) {
            code = errno == ENOMEM ? QQ_NOMEM : QQ_READ;
            *why = "cannot read the envelope";
            goto done;
        }
        if (toolong || (rec.len > 2 && rec.len - 2 > QUEUE_ADDR_MAX)) {
            code = QQ_ADDR_TOO_LONG;
            *why = "envelope address longer than 1000 bytes";
            goto done;
        }
        if (r == 0 || rec.len == 0 || rec.s[rec.len - 1] != 0) {
            code = QQ_ENVELOPE;
            *why = "envelope ends early";
            goto done;
        }
        if (rec.len == 1) { /* the final empty record */
            if (first) {
                code = QQ_ENVELOPE;
                *why = "envelope has no sender";
            }
            break;
        }
        if (first ? rec.s[0] != 'F' : rec.s[0] != 'T') {
            code = QQ_ENVELOPE;
            *why = first ? "envelope does not start with F"
                         : "envelope record is not T";
            goto done;
        }
        for (k = 1; k + 1 < rec.len; k++)
            if ((unsigned char)rec.s[k] < 32 || rec.s[k] == 127) {
                code = QQ_ENVELOPE;
                *why = "control character in an envelope address";
                goto done;
            }
        total += rec.len;
        if (total > QUEUE_ENV_MAX || (!first && ++*nrcpts > QUEUE_RCPT_MAX)) {
            code = QQ_ENVELOPE;
            *why = total > QUEUE_ENV_MAX ? "envelope too large"
                                          : "too many recipients";
            goto done;
        }
        if (netstr_cat(out, rec.s + 1, rec.len - 2) == -1) {
            code = QQ_NOMEM;
            *why = "envelope";
            goto done;
        }
        first = 0;
    }
    /* anything after the final NUL is a protocol error (fail closed) */
    if (b.pos < b.len) {
        code = QQ_ENVELOPE;
        *why = "data after the end of the envelope";
    }
done:
    dstr_free(&rec);
    return code;
}
