/*
 * route: is an address local, and under what name (qmail-send(8))?
 *
 * qmail-send routes every recipient with it, and qmail-smtpd asks the same
 * question at RCPT time, so that the recipient check sees virtual domains
 * and the percent hack exactly as delivery will.
 *
 *   1. percenthack: "u%h@dom" is "u@h" when dom is listed in
 *      control/percenthack (repeated, at most 10 times);
 *   2. a domain listed in control/locals (default: me) is local;
 *   3. control/virtualdomains: "user@dom:prepend" for one address, else
 *      "dom:prepend", else ".suffix:prepend" (the longest suffix first),
 *      else ":prepend"; local@dom is then local as prepend-local@dom; an
 *      empty prepend means remote;
 *   4. everything else is remote.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include "dstr.h"

typedef struct route_conf {
    dstr locals;       /* NUL-separated lists, as control_readlist gives */
    dstr virtuals;
    dstr percenthack;
} route_conf;

#define ROUTE_CONF_ZERO {DSTR_ZERO, DSTR_ZERO, DSTR_ZERO}

/* Read the three files from the current directory ($QMAILHOME); me is the
 * default local domain.  Returns 0, or -1 with errno and *file naming the
 * file that could not be read; rc is unchanged on error. */
int route_conf_read(route_conf *rc, const char *me, const char **file);
void route_conf_free(route_conf *rc);

/* 'L' local or 'R' remote; 0 when out of memory.  *route is set (malloc()ed)
 * when the address delivery must use differs from addr, else NULL. */
char route_classify(const route_conf *rc, const char *addr, char **route);

#endif
