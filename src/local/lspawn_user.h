/*
 * lspawn_user: map a local recipient address to the user who receives it.
 *
 * The local part (before the last '@') is lower-cased and split into a
 * user name and an extension at a '-': the longest prefix that names a
 * user wins ("demo-lists-x" is user demo, extension "lists-x" if there is
 * no user "demo-lists").  Users are, in order:
 *   1. the instance's own users: directories $QMAILHOME/mail/NAME, which
 *      receive as the directory's owner;
 *   2. when running as root, system accounts (getpwnam) other than root.
 * User names must be [a-z0-9._-], not starting with '.' or '-', so a
 * recipient can never name a path outside mail/.
 */
#ifndef LSPAWN_USER_H
#define LSPAWN_USER_H

#include <sys/types.h>

#define LSPAWN_USER_NAME_MAX 64

struct lspawn_user {
    char user[LSPAWN_USER_NAME_MAX + 1];
    char home[4096];
    char local[1001];   /* the whole local part, lower-cased */
    char dash[2];       /* "-" when there is an extension, else "" */
    char ext[1001];
    char domain[1001];
    uid_t uid;
    gid_t gid;
};

/* Remember the absolute instance home; call once, in $QMAILHOME. */
int lspawn_user_init(void);
/* Returns 0 and fills u, or -1 with a reason in why (a reason starting
 * with '!' is permanent: no such user; otherwise temporary). */
int lspawn_user_find(const char *rcpt, struct lspawn_user *u, char *why,
                     size_t whysize);
/* 1 if name is acceptable as a user name. */
int lspawn_user_name_ok(const char *name, size_t len);

#endif
