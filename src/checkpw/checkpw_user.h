/*
 * checkpw_user: who a POP3 login name is, and the hash to check.
 *
 * In order:
 *   1. an instance user: a line NAME:HASH in $QMAILHOME/users/passwd.
 *      Its home is $QMAILHOME/mail/NAME (a real directory, not a link),
 *      and it runs as the owner and group of that directory.
 *   2. $QMAILHOME/mail/NAME without a password line: an instance user
 *      whose POP3 login is off (qmailctl adduser without a password).
 *   3. only when running as root (a root install), and only for a name
 *      that is not an instance user: a system account (getpwnam, the hash
 *      from getspnam) with neither uid 0 nor gid 0, whose home directory
 *      exists and belongs to it, and whose account has not expired.
 *
 * Names must be 1-64 of [a-z0-9._-], not starting with '.' or '-' (as for
 * mail recipients, mailuser.h); others are unknown without a lookup.
 *
 * Trust: the name comes from the network and is checked before it is
 * used in a path or a lookup.  The files are the administrator's.
 */
#ifndef CHECKPW_USER_H
#define CHECKPW_USER_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "checkpw_passwd.h"

struct checkpw_user {
    char name[65];
    char home[PATH_MAX];
    char shell[PATH_MAX];       /* "" for instance users */
    char hash[CHECKPW_HASH_MAX];
    uid_t uid;
    gid_t gid;
    int system;                 /* a system account */
    int expired;                /* the system account has expired */
};

enum checkpw_found {
    CHECKPW_USER_OK = 0,        /* u filled, hash to check */
    CHECKPW_USER_UNKNOWN,       /* no such user */
    CHECKPW_USER_NOLOGIN,       /* exists, but no usable password */
    CHECKPW_USER_TEMP = -1      /* cannot tell now (why says why) */
};

/* Look up name (namelen octets, may hold anything) in the instance qhome
 * (an absolute path); system accounts only if system_users. */
enum checkpw_found checkpw_user_find(const char *qhome, const char *name,
                                     size_t namelen, int system_users,
                                     struct checkpw_user *u, char *why,
                                     size_t whysize);

#endif
