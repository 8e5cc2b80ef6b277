/* priv.c: dropping root.  See priv.h. */
#include "priv.h"

#include <errno.h>
#include <grp.h>
#include <unistd.h>

int priv_drop(uid_t uid, gid_t gid)
{
    if (uid == 0) {
        errno = EPERM;
        return -1;
    }
    if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1)
        return -1;
    /* every id must be the new one, and root must be gone for good */
    if (getuid() != uid || geteuid() != uid || getgid() != gid ||
        getegid() != gid || setuid(0) == 0 || seteuid(0) == 0) {
        errno = EPERM;
        return -1;
    }
    return 0;
}
