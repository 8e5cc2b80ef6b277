/*
 * smtpd_queue.c: the Received line.  See smtpd_queue.h.
 *
 * Text from the client reaches the Received line only through safe_cat().
 */
#include "smtpd_queue.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "date822.h"


/* Append up to max bytes of s, each byte outside a safe set (letters,
 * digits, and . - _ : [ ]) replaced by '?'.  Never a space, parenthesis,
 * semicolon, CR or LF. */
static int safe_cat(dstr *out, const char *s, size_t max)
{
    size_t i;

    for (i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                 c == '_' || c == ':' || c == '[' || c == ']';
        if (dstr_catc(out, ok ? (char)c : '?') == -1)
            return -1;
    }
    return 0;
}

int smtpd_received(dstr *out, const char *helo, const char *remotehost,
                   const char *remoteip, const char *me,
                   const char *protocol, time_t t)
{
    out->len = 0;
    if (dstr_cats(out, "Received: from ") == -1 ||
        safe_cat(out, *helo ? helo : "unknown", 255) == -1)
        return -1;
    if (*remoteip) {
        /* TCP-info (RFC 5321 4.4): [Domain FWS] address-literal */
        if (dstr_cats(out, " (") == -1)
            return -1;
        if (*remotehost && (safe_cat(out, remotehost, 255) == -1 ||
                            dstr_catc(out, ' ') == -1))
            return -1;
        if (dstr_cats(out, strchr(remoteip, ':') ? "[IPv6:" : "[") == -1 ||
            safe_cat(out, remoteip, 64) == -1 || dstr_cats(out, "])") == -1)
            return -1;
    }
    if (dstr_cats(out, "\n\tby ") == -1 || safe_cat(out, me, 255) == -1 ||
        dstr_cats(out, " with ") == -1 || dstr_cats(out, protocol) == -1 ||
        dstr_cats(out, "; ") == -1 || date822_cat(out, t) == -1 ||
        dstr_catc(out, '\n') == -1)
        return -1;
    return 0;
}
