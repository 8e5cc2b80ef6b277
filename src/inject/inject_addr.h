/*
 * inject_addr: RFC 5322 address lists as qmail-inject sees them.
 *
 * Parses the value of an address header field (To, Cc, From, ...) or a
 * command-line argument into the addresses it names, qualifies each one
 * with qmail's rules (qmail-header(5)), and renders them back for the
 * header and for the envelope.
 *
 * Understood: comments (nested, with quoted-pairs), quoted strings, domain
 * literals, "phrase <addr>" forms, obsolete source routes (<@a,@b:u@h>,
 * the route is dropped), groups ("name: a, b;"), the null address "<>",
 * and old-style lists separated only by white space ("To: joe bob").
 *
 * Callers: inject_header.c (header fields), inject_run.c (arguments, -f).
 * Trust: the input is user data of any shape; the parser never fails on
 * syntax, it only finds fewer addresses.  Only allocation can fail.
 */
#ifndef INJECT_ADDR_H
#define INJECT_ADDR_H

#include <stddef.h>

#include "dstr.h"

typedef struct inject_addr {
    dstr local;         /* local part, decoded (quotes and escapes removed) */
    dstr domain;        /* domain, valid when has_domain */
    int has_domain;     /* an '@' was present (or qualification added one) */
    int is_null;        /* the null address "<>" */
    int changed;        /* inject_addr_qualify changed it */
    size_t start, end;  /* its bytes in the parsed text (rewritten span) */
} inject_addr;

typedef struct inject_addrlist {
    inject_addr *v;
    size_t n, cap;
} inject_addrlist;

#define INJECT_ADDRLIST_ZERO {0, 0, 0}

/* The qualification settings (control/defaulthost etc.).  A NULL or empty
 * defaultdomain/plusdomain disables its rule. */
typedef struct inject_qual {
    const char *defaulthost;
    const char *defaultdomain;
    const char *plusdomain;
} inject_qual;

/* Append every address in s[0..len) to out, in order.  Returns 0, or -1
 * (ENOMEM / EOVERFLOW). */
int inject_addr_parse(const char *s, size_t len, inject_addrlist *out);
void inject_addrlist_free(inject_addrlist *l);
/* Empty the list, keeping nothing. */
void inject_addrlist_clear(inject_addrlist *l);
/* Append a copy of a to l. */
int inject_addrlist_push(inject_addrlist *l, const inject_addr *a);

/* qmail's rules, in this order: no '@' -> "@defaulthost"; a domain ending
 * in '+' -> the '+' becomes ".plusdomain"; a domain without a dot (and not
 * a [literal], and not equal to defaultdomain itself) -> ".defaultdomain".
 * Sets a->changed when anything changed.  Returns 0 or -1. */
int inject_addr_qualify(inject_addr *a, const inject_qual *q);

/* Append "local@domain" as it goes into the envelope (no quoting). */
int inject_addr_envelope(const inject_addr *a, dstr *out);
/* Append the address as written in a header: the local part quoted when
 * it is not a dot-atom. */
int inject_addr_render(const inject_addr *a, dstr *out);
/* Append a local part, quoted if needed. */
int inject_quote_local(const char *s, size_t len, dstr *out);
/* Append a display name: as is when it is a run of atoms, else as a
 * quoted string.  Control characters are dropped. */
int inject_quote_phrase(const char *s, size_t len, dstr *out);

/* Parse s[0..len), qualify every address, and append to out the text with
 * each changed address replaced by its rendered form (all other bytes are
 * kept, so comments, display names and folding survive).  When addrs is
 * not NULL the qualified addresses are appended to it. */
int inject_addr_rewrite(const char *s, size_t len, const inject_qual *q,
                        dstr *out, inject_addrlist *addrs);

#endif
