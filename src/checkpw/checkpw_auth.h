/*
 * checkpw_auth: verify a password against a crypt(3) hash (libxcrypt).
 *
 * Only hashes that start with '$' and whose method libxcrypt enables are
 * usable (yescrypt, sha512-crypt, bcrypt, ...); DES, an empty hash and
 * locked accounts ("!", "*") never match.  The result of crypt_rn() is
 * compared with the stored hash in constant time.
 *
 * checkpw_dummy() spends the time of a yescrypt hash at the default cost
 * (what `qmailctl adduser` makes), so that a name that does not exist
 * takes about as long to refuse as a wrong password for such a hash.  A
 * hash of another method or cost (sha512-crypt in /etc/shadow) takes
 * another time: the caller hides the difference (qmail-popup answers a
 * failed login at a fixed time after PASS).
 */
#ifndef CHECKPW_AUTH_H
#define CHECKPW_AUTH_H

#include <stddef.h>

/* 1 if pass matches hash, 0 if not (or the hash is unusable), -1 when
 * libxcrypt fails for want of memory. */
int checkpw_verify(const char *pass, const char *hash);
/* Hash pass with a fresh setting of the default method and forget it. */
void checkpw_dummy(const char *pass);
/* 1 if a and b are equal; the time depends only on the lengths. */
int checkpw_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
