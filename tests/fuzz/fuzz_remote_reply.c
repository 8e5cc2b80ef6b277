// fuzz-sources: src/remote/remote_reply.c src/lib/dstr.c src/lib/timeutil.c
// fuzz-dict: tests/fuzz/remote.dict
/*
 * libFuzzer harness: qmail-remote's SMTP reply reader.  The input is what
 * a server sends; it goes through a pipe to remote_reply_read, which is
 * called until it fails (at the end of the input at the latest).  Every
 * reply and the final error are compared with an independent model of
 * RFC 5321 4.2 replies and the reader's limits: CRLF or LF line ends,
 * lines of at most REMOTE_REPLY_LINE_MAX octets with their end, at most
 * REMOTE_REPLY_LINES_MAX lines, one 3-digit code 2xx..5xx on every line,
 * '-' on all lines but the last.  Checks besides: the code is 200..599
 * and its class its first digit, the text is the lines with '\n' each.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/remote/remote_reply.h"

static remote_in rin;

struct mreply {
    int code;
    size_t nlines;
    size_t textlen;
    size_t start;   /* offset of its first line in the input */
};

static int digit(char c) { return c >= '0' && c <= '9'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    remote_reply r = {0, 0, 0, DSTR_ZERO};
    struct mreply m = {0, 0, 0, 0};
    size_t p = 0;
    int fds[2], merr = 0, got, mcode;

    if (size > 60000)
        return 0;
    if (pipe(fds) == -1)
        abort();
    if (size && write(fds[1], data, size) != (ssize_t)size)
        abort();
    close(fds[1]);
    remote_in_init(&rin, fds[0]);

    for (;;) {
        /* the model: the next reply from p */
        const char *nl;
        size_t len, q;
        int last;

        m.code = 0;
        m.nlines = 0;
        m.textlen = 0;
        m.start = p;
        for (;;) {
            nl = memchr(d + p, '\n', size - p);
            if (!nl) {
                merr = size - p >= REMOTE_REPLY_LINE_MAX ? EPROTO : ECONNRESET;
                break;
            }
            len = (size_t)(nl - (d + p));
            q = p;
            p += len + 1;
            if (len + 1 > REMOTE_REPLY_LINE_MAX) {
                merr = EPROTO;
                break;
            }
            if (len && d[q + len - 1] == '\r')
                len--;
            if (m.nlines >= REMOTE_REPLY_LINES_MAX || len < 3 ||
                !digit(d[q]) || !digit(d[q + 1]) || !digit(d[q + 2]) ||
                d[q] < '2' || d[q] > '5' ||
                (len > 3 && d[q + 3] != ' ' && d[q + 3] != '-')) {
                merr = EPROTO;
                break;
            }
            mcode = (d[q] - '0') * 100 + (d[q + 1] - '0') * 10 + d[q + 2] - '0';
            if (m.nlines && mcode != m.code) {
                merr = EPROTO;
                break;
            }
            m.code = mcode;
            m.nlines++;
            m.textlen += len + 1;
            last = len == 3 || d[q + 3] == ' ';
            if (last)
                break;
        }

        got = remote_reply_read(&rin, &r, 5);
        if (merr) {
            if (got != -1 || errno != merr)
                abort();
            break;
        }
        if (got != 0 || !r.done || r.code != m.code ||
            r.nlines != m.nlines || r.text.len != m.textlen)
            abort();
        if (r.code < 200 || r.code > 599 ||
            remote_reply_class(&r) != r.code / 100 ||
            r.text.s[r.text.len - 1] != '\n' ||
            memcmp(r.text.s, d + m.start, 3) != 0)
            abort();
    }
    close(fds[0]);
    remote_reply_free(&r);
    if (r.code != 0 || r.nlines != 0 || r.done || r.text.len != 0 ||
        remote_reply_class(&r) != 0)
        abort();
    return 0;
}
