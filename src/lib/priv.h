/*
 * priv: the one way a program gives up root (STYLE.md point 7).
 */
#ifndef PRIV_H
#define PRIV_H

#include <sys/types.h>

/* Become uid/gid with gid as the only group: setgroups, setgid, setuid,
 * each checked, then confirm that root cannot come back.  uid 0 is
 * refused (EPERM).  Returns 0, or -1 with errno. */
int priv_drop(uid_t uid, gid_t gid);

#endif
