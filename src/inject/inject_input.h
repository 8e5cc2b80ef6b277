/*
 * inject_input: the message as read from stdin, normalized.
 *
 * inject_norm is a pure byte filter: CR LF becomes LF (a lone CR is kept),
 * and, in sendmail's classic mode, a line holding only "." ends the
 * message.  A message whose last line lacks its LF gets one.
 *
 * inject_in reads a descriptor through the filter and hands out header
 * lines (bounded) and body chunks (streamed), so memory stays bounded
 * whatever the message size.
 *
 * Callers: inject_run.c.  Trust: input is arbitrary bytes (NUL included).
 */
#ifndef INJECT_INPUT_H
#define INJECT_INPUT_H

#include <stddef.h>

#include "dstr.h"

typedef struct inject_norm {
    int dot_ends;   /* a "." line ends the input */
    int bol;        /* next byte starts a line */
    int ended;      /* the "." line was seen: ignore the rest */
    int any;        /* something was written */
    char held[2];   /* bytes kept back: ".", "\r" or ".\r" */
    size_t nheld;
} inject_norm;

void inject_norm_init(inject_norm *n, int dot_ends);
/* Filter in[0..len) into out, which has room for len + 2 bytes.  Returns
 * the bytes written; sets *used to the bytes of in consumed (less than len
 * only when the "." line ended the input). */
size_t inject_norm_feed(inject_norm *n, const char *in, size_t len,
                        char *out, size_t *used);
/* At end of input: flush what is held (out has room for 3 bytes), adding
 * a final LF when the last line lacks one.  Returns the bytes written. */
size_t inject_norm_finish(inject_norm *n, char *out);

#define INJECT_IN_BUF 65536

typedef struct inject_in {
    int fd;
    inject_norm norm;
    int eof;                        /* nothing more will come from fd */
    size_t pos, len;                /* unread normalized bytes in buf */
    char raw[INJECT_IN_BUF];
    char buf[INJECT_IN_BUF + 3];
} inject_in;

void inject_in_init(inject_in *in, int fd, int dot_ends);
/* Read one line (through its LF) appended to line.  At most max bytes are
 * taken: a longer line sets *toolong and leaves its rest unread.  Returns
 * 1 (a line, possibly partial), 0 at end of input, -1 on read error. */
int inject_in_getline(inject_in *in, dstr *line, size_t max, int *toolong);
/* Next chunk of normalized bytes: sets *p and returns its length (>0),
 * 0 at end of input, -1 on read error.  The chunk is consumed. */
long inject_in_chunk(inject_in *in, const char **p);

#endif
