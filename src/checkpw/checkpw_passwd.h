/*
 * checkpw_passwd: the instance's password file, $QMAILHOME/users/passwd,
 * as `qmailctl adduser` writes it: one line "NAME:HASH" per user, HASH a
 * crypt(3) string (yescrypt "$y$..." or sha512-crypt "$6$...").
 *
 * Lines that are empty or start with '#' are skipped, as are lines longer
 * than CHECKPW_LINE_MAX; a trailing CR is ignored; anything after a second
 * ':' is ignored (room for later fields).  The first line for a name wins.
 * The whole file is always read, so the time taken does not tell where
 * (or whether) a name is in it.
 *
 * Trust: the file is the administrator's (mode 0600); it is read with
 * bounds all the same, and a symbolic link in its place is refused
 * (qmailctl replaces the file by rename, never through a link).
 */
#ifndef CHECKPW_PASSWD_H
#define CHECKPW_PASSWD_H

#include <stddef.h>

#define CHECKPW_LINE_MAX 4096
#define CHECKPW_HASH_MAX 512

/* If line (len octets, without its LF) is the line of name, return 1 and
 * point *hash at its hash (*hashlen octets, inside line); else 0. */
int checkpw_passwd_line(const char *line, size_t len, const char *name,
                        size_t namelen, const char **hash, size_t *hashlen);
/* Look name up in the password file open on fd (read to its end).
 * Returns 1 and the hash (NUL-terminated, at most hashsize - 1 octets) in
 * hash, 0 if name has no line, -1 on a read error (errno). */
int checkpw_passwd_find(int fd, const char *name, size_t namelen,
                        char *hash, size_t hashsize);

#endif
