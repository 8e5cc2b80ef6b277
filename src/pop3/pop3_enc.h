/*
 * pop3_enc: a message as POP3 sends it (RFC 1939 section 3 and 11).
 *
 * Lines end in CR LF on the wire: a LF not preceded by CR becomes CR LF,
 * an existing CR LF is kept (never CR CR LF), and a CR not followed by LF
 * becomes CR LF too: some clients take a lone CR for a line end, and
 * "x CR . CR LF" must not look like the end of the message to them.  A
 * message that does not end with a line feed gets a final CR LF, so the
 * terminating "." is on a line of its own.  With stuffing on, a line
 * that starts with "." gets a second "." in front (the client removes
 * it).
 *
 * The size of a message that LIST and STAT report is the octets the
 * client receives after removing the stuffing: exactly what this encoder
 * produces with stuffing off.  qmail-pop3d counts sizes and sends messages
 * with the same code, so the two can never disagree.
 *
 * TOP: with a body line limit, the encoder passes the header, the empty
 * line that ends it, and then at most that many body lines.  A message
 * without an empty line is all header.
 *
 * The encoder streams: it holds a few flags, never the message.
 */
#ifndef POP3_ENC_H
#define POP3_ENC_H

#include <stddef.h>

#define POP3_ENC_ALL (~0ULL) /* no limit on body lines */

struct pop3_enc {
    int stuff;              /* byte-stuff lines that start with '.' */
    int line_start;         /* the next octet starts a line */
    int cr;                 /* the last octet was a CR (already sent) */
    size_t line_octets;     /* octets of the current line so far */
    int in_body;            /* past the empty line after the header */
    int done;               /* the TOP limit is reached: ignore the rest */
    unsigned long long max_body_lines;
    unsigned long long body_lines;
};

void pop3_enc_init(struct pop3_enc *e, int stuff,
                   unsigned long long max_body_lines);
/* Encode n octets of the message into out, which must have room for
 * 2 * n + 2 octets; returns the octets written.  out may be NULL: then only
 * the count is returned (for sizes). */
size_t pop3_enc_feed(struct pop3_enc *e, const char *in, size_t n, char *out);
/* End of the message: writes into out (room for 2 octets, or NULL) the
 * line end a message without a final LF needs; returns its octets. */
size_t pop3_enc_finish(struct pop3_enc *e, char *out);

/* Size on the wire (without stuffing and terminator) of the message in
 * fd, read from its current offset to EOF.  Returns 0 and *size, or -1
 * with errno. */
int pop3_enc_size_fd(int fd, unsigned long long *size);

#endif
