/*
 * mailuser: map a local recipient address to the user who receives it.
 *
 * The local part (before the last '@') is lower-cased and split into a
 * user name and an extension at a '-': the longest prefix that names a
 * user wins ("demo-lists-x" is user demo, extension "lists-x" if there is
 * no user "demo-lists").  Users are, in order:
 *   0. users/cdb (qmail-newu's compilation of users/assign, qmail-users(5)):
 *      an exact "=" line for the whole local part, else the "+" line with
 *      the longest prefix of it;
 *   1. the instance's own users: directories $QMAILHOME/mail/NAME, which
 *      receive as the directory's owner;
 *   2. when enabled by mailuser_init, system accounts (getpwnam) other
 *      than root whose home exists and belongs to them;
 *   3. the alias user, home $QMAILHOME/alias, with the whole local part as
 *      its extension (~alias/.qmail-postmaster, ~alias/.qmail-default).
 * Whether the address then exists depends on the user's .qmail files:
 * mailuser_deliverable() asks the same question qmail-local will.
 * qmail-lspawn delivers with it; qmail-smtpd refuses unknown recipients
 * at RCPT time with the same lookup, so the two can never disagree.
 * User names must be [a-z0-9._-], not starting with '.' or '-', so a
 * recipient can never name a path outside mail/.
 */
#ifndef MAILUSER_H
#define MAILUSER_H

#include <sys/types.h>

#define MAILUSER_NAME_MAX 64

struct mailuser {
    char user[MAILUSER_NAME_MAX + 1];
    char home[4096];
    char local[1001];   /* the whole local part, lower-cased */
    char dash[2];       /* "-" when there is an extension, else "" */
    char ext[1001];
    char domain[1001];
    uid_t uid;
    gid_t gid;
    int alias;          /* the alias user: no .qmail file means no mailbox */
};

/* Remember the absolute instance home; call once, in $QMAILHOME.
 * system_users: also look up system accounts (a root install). */
int mailuser_init(int system_users);
/* Returns 0 and fills u, or -1 with a reason in why (a reason starting
 * with '!' is permanent: no such user; otherwise temporary). */
int mailuser_find(const char *rcpt, struct mailuser *u, char *why,
                     size_t whysize);
/* Does the found user take mail for this address?  1 yes, 0 no (no
 * .qmail file for the extension, or the alias user without one), -1
 * cannot tell (e.g. the home is not readable by the caller: treat as yes
 * when refusing would be wrong). */
int mailuser_deliverable(const struct mailuser *u);
/* 1 if name is acceptable as a user name. */
int mailuser_name_ok(const char *name, size_t len);

#endif
