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

int local_maildir(const char *dir, const char *prefix, char *why,
                  size_t whysize, int *perm);
int local_mbox(const char *path, const char *sender, const char *prefix,
               char *why, size_t whysize, int *perm);

#endif
