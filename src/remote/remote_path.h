/*
 * remote_path: envelope addresses as SMTP paths (RFC 5321 4.1.2).
 *
 * The queue holds addresses as plain text (local@domain).  On the wire a
 * local part that is not a dot-string (atoms of letters, digits and
 * !#$%&'*+-/=?^_`{|}~ joined by single dots; bytes >= 128 pass as in
 * RFC 6531) is sent as a quoted string, with '"' and '\' escaped.  The
 * empty address is "<>".
 *
 * Addresses holding control characters (a CR or LF would start a new SMTP
 * command) are refused, not encoded: remote_path_ok says so first.
 */
#ifndef REMOTE_PATH_H
#define REMOTE_PATH_H

#include "dstr.h"

/* 1 if addr may be sent: no byte below 32 and no DEL, at most 1000
 * bytes. */
int remote_path_ok(const char *addr);
/* Append "<" path ">" for addr to out.  0 / -1 (ENOMEM). */
int remote_path_cat(dstr *out, const char *addr);

#endif
