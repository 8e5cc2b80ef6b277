/*
 * netstr: netstrings ([len] ":" [bytes] ","), as QMTP, QMQP and other
 * protocols frame byte strings.
 *
 * Strict: [len] is one or more ASCII digits with no extra leading zero
 * ("0:," is the only netstring that starts with '0'), at most
 * NETSTR_DIGITS_MAX digits and never more than the caller's maximum; the
 * byte after [len] must be ':' and the byte after the payload ','.
 * Nothing before [len] is skipped (no spaces, no CR/LF).
 *
 * Three layers, all allocation-free except where a dstr is filled:
 *
 *   - netstr_dec: a push decoder.  Feed it any bytes; it consumes the
 *     header, hands back the payload in pieces (pointers into the caller's
 *     bytes, so a payload of any length streams through without being
 *     held), checks the comma, and stops at the end of one netstring so
 *     the bytes after it stay with the caller.  Use it to stream a large
 *     payload (a message) or to parse netstrings nested in a buffer.
 *   - netstr_read*: the same over a bio (src/lib/bio.h), with the bio's
 *     deadline on every read.
 *   - netstr_cat*: the encoder, into a dstr.
 *
 * Errors (errno, with -1 returns):
 *   EPROTO     not a netstring: a non-digit or extra leading zero in
 *              [len], no ':' after it, no ',' after the payload
 *   EMSGSIZE   [len] is larger than the caller's maximum (detected as the
 *              digits arrive, before any payload is read)
 *   ENODATA    end of file inside a netstring (a truncated stream)
 *   ETIMEDOUT  a read missed the bio's deadline
 *   other      the read error
 *
 * Trusts nothing in its input.  Used by qmail-qmtpd, qmail-qmqpd (the
 * servers), qmail-qmqpc and qmail-remote's QMTP client.
 */
#ifndef NETSTR_H
#define NETSTR_H

#include <stddef.h>

#include "bio.h"
#include "dstr.h"

/* digits of the largest length we ever accept: 10^18 - 1 fits 64 bits */
#define NETSTR_DIGITS_MAX 18

/* ---- push decoder ------------------------------------------------------ */

typedef enum netstr_state {
    NETSTR_LEN = 0,   /* reading [len] (nothing read yet, or some digits) */
    NETSTR_DATA,      /* payload bytes still due (left > 0), or the ',' */
    NETSTR_DONE,      /* one whole netstring consumed */
    NETSTR_ERROR      /* malformed or too long: err holds the errno value */
} netstr_state;

typedef struct netstr_dec {
    netstr_state state;
    unsigned long long max;   /* largest [len] accepted */
    unsigned long long len;   /* [len], valid from NETSTR_DATA on */
    unsigned long long left;  /* payload bytes not yet handed out */
    unsigned digits;          /* digits of [len] seen so far */
    int err;                  /* EPROTO or EMSGSIZE in NETSTR_ERROR */
} netstr_dec;

/* Start decoding one netstring of at most max payload bytes. */
void netstr_dec_init(netstr_dec *d, unsigned long long max);
/* Consume bytes from in (n available) and return how many were used.
 * Stops early: after a piece of payload (then *data and *datalen point into
 * in; otherwise *datalen is 0), at the end of the netstring (NETSTR_DONE),
 * or at an error (NETSTR_ERROR, the offending byte not consumed).  Call
 * again with the rest while state is NETSTR_LEN or NETSTR_DATA. */
size_t netstr_dec_feed(netstr_dec *d, const char *in, size_t n,
                       const char **data, size_t *datalen);
/* 1 if no byte of the netstring has been consumed yet. */
int netstr_dec_fresh(const netstr_dec *d);

/* Parse one whole netstring at the start of s (len bytes).  Returns 1 and
 * sets *data, *datalen and *used (bytes of s taken, header and comma
 * included); 0 if s holds only a prefix of a valid netstring (more bytes
 * needed); -1 with errno EPROTO or EMSGSIZE. */
int netstr_parse(const char *s, size_t len, unsigned long long max,
                 const char **data, size_t *datalen, size_t *used);

/* ---- reading from a bio ------------------------------------------------ */

/* Read [len] ":" and return 1 with *len set; 0 at end of file before the
 * first byte (a clean end between netstrings); -1 with errno.  Then read
 * the payload with netstr_read_data / bio_read and finish with
 * netstr_read_end. */
int netstr_read_len(bio *b, unsigned long long max, unsigned long long *len);
/* Read the closing ','.  0, or -1 (EPROTO, ENODATA, read errors). */
int netstr_read_end(bio *b);
/* Append exactly n payload bytes to out.  0, or -1 (ENODATA at end of
 * file, ENOMEM, read errors).  Memory grows with the bytes that arrive,
 * not with n (a peer's claim). */
int netstr_read_data(bio *b, dstr *out, size_t n);
/* Read and throw away exactly n bytes.  0, or -1 (ENODATA, read errors). */
int netstr_skip(bio *b, unsigned long long n);
/* One whole netstring of at most max bytes, its payload copied to out
 * (replacing its contents).  1, 0 at a clean end of file before it, -1. */
int netstr_read(bio *b, dstr *out, size_t max);

/* ---- encoding ---------------------------------------------------------- */

/* Append the netstring of data (n bytes) to out.  0, or -1 (ENOMEM,
 * EOVERFLOW). */
int netstr_cat(dstr *out, const void *data, size_t n);
/* Append only the header "[n]:", for a payload written separately; the
 * caller then writes exactly n bytes and a ','. */
int netstr_cat_len(dstr *out, unsigned long long n);
/* Append a C string as a netstring. */
int netstr_cats(dstr *out, const char *s);

#endif
