/*
 * smtpd_addr: the paths of MAIL FROM and RCPT TO (RFC 5321 4.1.2) and
 * their ESMTP parameters.
 *
 *   Path          = "<" [ A-d-l ":" ] Mailbox ">"
 *   Mailbox       = Local-part "@" ( Domain / address-literal )
 *   Local-part    = Dot-string / Quoted-string
 *
 * A source route (A-d-l) is checked for syntax and then ignored, as RFC
 * 5321 asks.  A quoted local part is stored unquoted, the way qmail keeps
 * envelope addresses ("a b"@x.test becomes a b@x.test); it can hold only
 * printable ASCII and space, never a control character.  The domain is
 * checked label by label (letters, digits, inner hyphens, at most 63 bytes
 * each, 255 in all); an address literal must be a valid [IPv4] or
 * [IPv6:...] address.  Nothing else (8-bit bytes, empty local parts,
 * general address literals) is accepted.
 *
 * Called by smtpd_mail.c; the input is untrusted network text.
 */
#ifndef SMTPD_ADDR_H
#define SMTPD_ADDR_H

#include <stddef.h>

/* local@domain, at most: RFC 5321 4.5.3.1.3 allows 256 bytes of path
 * including the angle brackets. */
#define SMTPD_MAILBOX_MAX 254
#define SMTPD_DOMAIN_MAX 255
#define SMTPD_LABEL_MAX 63

/* flags for smtpd_path_parse */
#define SMTPD_PATH_SENDER 1   /* "<>" (the null reverse-path) allowed */
#define SMTPD_PATH_RCPT 2     /* "<postmaster>" without a domain allowed */

typedef enum smtpd_path_err {
    SMTPD_PATH_OK = 0,
    SMTPD_PATH_SYNTAX = -1,   /* not a path */
    SMTPD_PATH_TOOLONG = -2,  /* a path, but longer than we keep */
} smtpd_path_err;

typedef struct smtpd_path {
    char addr[SMTPD_MAILBOX_MAX + 1]; /* NUL-terminated; "" for <> */
    size_t len;
    size_t at;          /* index of the '@' before the domain; len if none */
    int literal;        /* the domain is an address literal [...] */
} smtpd_path;

/* Parse a path at s (len bytes available, no leading spaces).  On
 * success fills p and sets *end to the index just after the closing '>'.
 * Returns SMTPD_PATH_OK or a negative smtpd_path_err. */
int smtpd_path_parse(const char *s, size_t len, unsigned flags,
                     smtpd_path *p, size_t *end);

/* Length of the Domain at the start of s (RFC 5321 syntax), or 0 if s
 * does not start with one.  Stops at the first byte that cannot continue
 * it. */
size_t smtpd_domain_scan(const char *s, size_t len);
/* Length of the address literal ("[...]") at the start of s, or 0. */
size_t smtpd_literal_scan(const char *s, size_t len);

/* One ESMTP parameter: keyword and (possibly empty) value, pointing into
 * the caller's line. */
typedef struct smtpd_param {
    const char *key;
    size_t keylen;
    const char *value;  /* NULL when there is no "=value" */
    size_t valuelen;
} smtpd_param;

/* Next parameter of s from *pos (just after a path's '>').  Parameters are
 * separated by spaces; trailing spaces are tolerated.  Returns 1 and fills
 * pp, 0 at the end of the line, -1 on a syntax error. */
int smtpd_param_next(const char *s, size_t len, size_t *pos,
                     smtpd_param *pp);
/* 1 if the parameter's keyword is kw (case-insensitive). */
int smtpd_param_is(const smtpd_param *pp, const char *kw);

#endif
