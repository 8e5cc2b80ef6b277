/*
 * local_deliver: write one copy of the message into a Maildir or an mbox.
 *
 * Both return 0 on success, or -1 with a one-line reason in why; *perm is
 * set to 1 when retrying cannot help (rare: delivery problems are
 * temporary by qmail's rules), else 0.  The copy starts with prefix
 * (Return-Path and Delivered-To lines), then the message.
 */
#ifndef LOCAL_DELIVER_H
#define LOCAL_DELIVER_H

#include <stddef.h>

/* uniq: a name that is the same each time this message is delivered by
 * this line to this recipient (so a repeated delivery finds its earlier
 * copy and is not written twice), or NULL for a fresh unique name.
 * maybe_repeat: also look for that earlier copy in cur/. */
int local_maildir(const char *dir, const char *prefix, const char *uniq,
                  int maybe_repeat, char *why, size_t whysize, int *perm);
int local_mbox(const char *path, const char *sender, const char *prefix,
               char *why, size_t whysize, int *perm);

/* A "|command" line.  Returns 0 (delivered) or -1 with the reason (the
 * program's output) in why; *result says which. */
enum { LOCAL_PROG_OK, LOCAL_PROG_STOP, LOCAL_PROG_PERM, LOCAL_PROG_TEMP };
int local_program(const char *cmd, char *const envp[], char *why,
                  size_t whysize, int *result);

/* Forward the message (dtline first) to the NUL-separated addresses in
 * rcpts with envelope sender newsender, through qmail-queue.  Returns 0,
 * or -1 with the reason in why and *perm set when it cannot succeed. */
int local_forward(const char *dtline, const char *newsender,
                  const char *rcpts, size_t rcptslen, char *why,
                  size_t whysize, int *perm);

#endif
