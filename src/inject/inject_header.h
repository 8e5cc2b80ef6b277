/*
 * inject_header: the message header as qmail-inject handles it.
 *
 * Collects header fields (with their continuation lines) as read, then
 * writes the fixed-up header: address fields qualified, Bcc, Resent-Bcc,
 * Return-Path and Content-Length removed, recipients and the Return-Path
 * address collected, and missing Date, Message-ID and From (and their
 * Resent- forms when the message is being resent) added at the end.
 *
 * Callers: inject_run.c.  Trust: header bytes are user data; everything is
 * bounded by the caller's header size limit.
 */
#ifndef INJECT_HEADER_H
#define INJECT_HEADER_H

#include <stddef.h>

#include "dstr.h"
#include "inject_addr.h"

typedef struct inject_field {
    size_t off, len;    /* bytes in inject_header.raw, through the last \n */
    size_t namelen;     /* length of the field name */
    size_t valoff;      /* value starts at off + valoff (after the colon) */
} inject_field;

typedef struct inject_header {
    dstr raw;           /* every field line, LF-terminated */
    inject_field *f;
    size_t n, cap;
} inject_header;

#define INJECT_HEADER_ZERO {DSTR_ZERO, 0, 0, 0}

/* If line starts a header field ("Name:" with printable, colon-free name,
 * optionally followed by blanks before the colon), return the name length
 * and set *valoff to the offset just past the colon; else return 0. */
size_t inject_header_fieldname(const char *line, size_t len, size_t *valoff);
/* 1 if line continues the previous field (starts with a space or tab). */
int inject_header_is_continuation(const char *line, size_t len);
/* Add a line that starts a field, or continues the last one.  The line
 * should end with '\n' (one is added otherwise).  Returns 0 or -1. */
int inject_header_add(inject_header *h, const char *line, size_t len);
int inject_header_continue(inject_header *h, const char *line, size_t len);
void inject_header_free(inject_header *h);

/* What inject_header_fix found. */
#define INJECT_SEEN_DATE 0x01
#define INJECT_SEEN_MSGID 0x02
#define INJECT_SEEN_FROM 0x04
#define INJECT_SEEN_RDATE 0x08
#define INJECT_SEEN_RMSGID 0x10
#define INJECT_SEEN_RFROM 0x20

typedef struct inject_fixed {
    int resent;             /* the header has Resent- fields */
    unsigned seen;          /* INJECT_SEEN_* of fields kept in the output */
    inject_addrlist rcpts;  /* To/Cc/Bcc/Apparently-To, or Resent-To/Cc/Bcc
                               when resent; qualified */
    int have_return_path;   /* a Return-Path field with an address */
    inject_addr return_path;/* its first address, qualified */
} inject_fixed;

/* Flags for inject_header_fix (QMAILINJECT letters f and i). */
#define INJECT_DROP_FROM 0x01
#define INJECT_DROP_MSGID 0x02

/* Append the fixed header fields (without the closing empty line) to out
 * and describe them in *fx (which must be zeroed before; free it with
 * inject_fixed_free). */
int inject_header_fix(const inject_header *h, const inject_qual *q,
                      int flags, dstr *out, inject_fixed *fx);
void inject_fixed_free(inject_fixed *fx);

/* Append the fields the message lacks ("Date: ...\n" etc.): date, msgid
 * and from are field values. */
int inject_header_additions(const inject_fixed *fx, const char *date,
                            const char *msgid, const char *from, dstr *out);

/* A From value: "Name <user@host>", or "user@host (Name)" when
 * comment_style, or "user@host" when name is empty. */
int inject_make_from(dstr *out, const char *name, const char *user,
                     const char *host, int comment_style);
/* A Message-ID value "<time.usec.pid.random@idhost>", unique per call. */
int inject_make_msgid(dstr *out, const char *idhost);

#endif
