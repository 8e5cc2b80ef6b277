/*
 * remote_enc: turn a queued message (lines end in LF) into SMTP DATA
 * (RFC 5321 4.1.1.4, 4.5.2): every line ends in CRLF, a line that starts
 * with '.' gets a second one, and the data ends with CRLF "." CRLF.
 *
 * Line ends: LF, CRLF and a bare CR each end a line and are sent as CRLF,
 * so what we send never holds a CR or LF outside a CRLF pair (RFC 5321
 * 2.3.8) and no receiver, however lax, can see a line start, and hence an
 * end of data, where we did not put one.  A message whose last line has
 * no line end gets one.  Nothing else is changed: long lines, NUL and
 * 8-bit bytes go through as they are (8-bit bytes are counted so the
 * caller can declare BODY=8BITMIME).
 *
 * The encoder is a small state machine: input may be cut anywhere (even
 * between a CR and its LF); feeding it in pieces gives the same bytes as
 * feeding it whole.
 */
#ifndef REMOTE_ENC_H
#define REMOTE_ENC_H

#include <stddef.h>

/* room needed in out for one feed of n bytes */
#define REMOTE_ENC_ROOM(n) (2 * (n) + 2)
/* room needed for remote_enc_finish */
#define REMOTE_ENC_FINISH_MAX 8

typedef struct remote_enc {
    int bol;                    /* the next byte starts a line */
    int cr;                     /* a CR was seen, its LF may follow */
    int eightbit;               /* a byte >= 128 was seen */
    unsigned long long out;     /* bytes produced so far */
    unsigned long long stuffed; /* dots added */
} remote_enc;

void remote_enc_init(remote_enc *e);
/* Encode n bytes of in into out, which has REMOTE_ENC_ROOM(n) bytes.
 * Returns the bytes written. */
size_t remote_enc_feed(remote_enc *e, const char *in, size_t n, char *out);
/* End the data: a pending line end, a missing final CRLF, then
 * ".\r\n".  Returns the bytes written (at most REMOTE_ENC_FINISH_MAX). */
size_t remote_enc_finish(remote_enc *e, char *out);
/* The message size as RFC 1870 counts it (CRLF line ends, without the
 * added dots and the final "." line), once finished. */
unsigned long long remote_enc_size(const remote_enc *e);

#endif
