/*
 * assign_parse: the users/assign format (qmail-users(5)).
 *
 *   =local:user:uid:gid:homedir:dash:ext:     one address
 *   +prefix:user:uid:gid:homedir:dash:pre:    every address starting
 *                                             with prefix
 *   .                                         end of file (required)
 *
 * Parsed into the NUL-separated key/value pairs of users/cdb (see
 * src/mail/mailuser.c): key "=local" or "+prefix" (lower-cased), value
 * user, uid, gid, homedir, dash, ext each followed by NUL.
 */
#ifndef ASSIGN_PARSE_H
#define ASSIGN_PARSE_H

#include <stddef.h>
#include "dstr.h"

/* Called for each entry; returns 0 or -1 (errno set). */
typedef int assign_add_fn(void *arg, const char *key, size_t klen,
                          const char *val, size_t vlen);

/* Parse text, calling add for each entry in file order.  Returns 0, or -1
 * with a message naming the line in err (NUL-terminated; empty when add
 * or memory failed: see errno). */
int assign_parse(const char *text, size_t len, assign_add_fn *add,
                 void *arg, dstr *err);

#endif
