/*
 * received.c: the Received line.  See received.h.
 *
 * Text from the client reaches the line only through safe_cat().
 */
#include "received.h"

#include <string.h>

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

int received_line(dstr *out, const char *helo, const char *remotehost,
                  const char *remoteip, const char *me, const char *protocol,
                  time_t t)
{
    const char *from = helo;

    if (!from)
        from = remotehost;
    out->len = 0;
    if (dstr_cats(out, "Received: from ") == -1 ||
        safe_cat(out, *from ? from : "unknown", 255) == -1)
        return -1;
    if (*remoteip) {
        /* TCP-info (RFC 5321 4.4): [Domain FWS] address-literal */
        if (dstr_cats(out, " (") == -1)
            return -1;
        if (helo && *remotehost && (safe_cat(out, remotehost, 255) == -1 ||
                                    dstr_catc(out, ' ') == -1))
            return -1;
        if (dstr_cats(out, strchr(remoteip, ':') ? "[IPv6:" : "[") == -1 ||
            safe_cat(out, remoteip, 64) == -1 || dstr_cats(out, "])") == -1)
            return -1;
    }
    if (dstr_cats(out, "\n\tby ") == -1 || safe_cat(out, me, 255) == -1 ||
        dstr_cats(out, " with ") == -1 || safe_cat(out, protocol, 32) == -1 ||
        dstr_cats(out, "; ") == -1 || date822_cat(out, t) == -1 ||
        dstr_catc(out, '\n') == -1)
        return -1;
    return 0;
}
