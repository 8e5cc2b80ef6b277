/*
 * smtpd_data: decode the message text that follows DATA.
 *
 * Input is the raw bytes from the client, in chunks of any size (a chunk
 * may end anywhere, inside a CRLF or a dot line).  Output is the message
 * as qmail stores it: lines end in LF, the leading dot of a dot-stuffed
 * line is removed.  The decoder never expands: a feed produces at most one
 * byte more than it consumes (a CR held back from the previous feed until
 * the byte after it showed whether it was part of a CRLF).
 *
 * The end of the message is <CRLF>.<CRLF> and nothing else (RFC 5321
 * 4.1.1.4): a "." line after a bare LF or CR (<LF>.<LF>, <CR>.<CR>,
 * <LF>.<CRLF>, <CRLF>.<LF>) does not end it, so a message can never hide
 * a second SMTP transaction from us (SMTP smuggling).  The first line
 * starts right after DATA's own CRLF, so a message of just ".\r\n" is
 * empty.
 *
 * Flaws are recorded, not acted upon; the caller refuses the message at
 * its end (reading on to the real end, so the session stays in step):
 *
 *   BARELF    an LF not preceded by CR
 *   BARECR    a CR not followed by LF
 *   NUL       a NUL byte
 *   LONGLINE  a line longer than SMTPD_DATA_LINE_MAX bytes with its CRLF
 *   TOOBIG    more than maxsize bytes of output (maxsize 0: no limit)
 *
 * Memory: a few counters; nothing is buffered.
 */
#ifndef SMTPD_DATA_H
#define SMTPD_DATA_H

#include <stddef.h>

/* RFC 5321 4.5.3.1.6: a text line is at most 1000 bytes with its CRLF */
#define SMTPD_DATA_LINE_MAX 1000

#define SMTPD_DATA_BARELF 1u
#define SMTPD_DATA_BARECR 2u
#define SMTPD_DATA_NUL 4u
#define SMTPD_DATA_LONGLINE 8u
#define SMTPD_DATA_TOOBIG 16u

typedef struct smtpd_data {
    int state;                  /* internal */
    size_t linelen;             /* input bytes of the current line */
    unsigned long long size;    /* output bytes so far */
    unsigned long long maxsize; /* 0: no limit */
    unsigned long long lines;   /* LFs seen (a progress counter) */
    unsigned flags;             /* SMTPD_DATA_* */
    int done;                   /* the final <CRLF>.<CRLF> was read */
} smtpd_data;

void smtpd_data_init(smtpd_data *d, unsigned long long maxsize);
/* Decode up to n bytes of in into out (room for n + 1 bytes), setting
 * *outlen.
 * Returns the number of input bytes consumed: all n, unless the end of the
 * message was reached (d->done), in which case the bytes after it are left
 * for the next command.  After done, consumes nothing. */
size_t smtpd_data_feed(smtpd_data *d, const char *in, size_t n, char *out,
                       size_t *outlen);

#endif
