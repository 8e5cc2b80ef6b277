/*
 * tcpd_priv.c: give up root for good, after the socket is bound.
 *
 * Order matters: supplementary groups and the group first, while we may
 * still change them, then the user.  Each call is checked, and then we
 * make sure that none of it can be undone.
 */
#include "tcpd.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

static int failed(dstr *why, const char *what)
{
    dstr_copys(why, "");
    if (dstr_catf(why, "%s: %s", what, strerror(errno)) == -1 ||
        dstr_cat0(why) == -1)
        why->len = 0;
    return -1;
}

static int refused(dstr *why, const char *what)
{
    if (dstr_copys(why, what) == -1 || dstr_cat0(why) == -1)
        why->len = 0;
    return -1;
}

int tcpd_priv_drop(uid_t uid, gid_t gid, dstr *why)
{
    gid_t groups[2];
    int n;

    /* the servers it runs can never regain a capability (sandbox.h) */
    if (uid != 0 && geteuid() == 0 && sandbox_drop_bounding() == -1)
        return failed(why, "emptying the capability bounding set");
    if (setgroups(1, &gid) == -1)
        return failed(why, "setgroups");
    if (setgid(gid) == -1)
        return failed(why, "setgid");
    if (setuid(uid) == -1)
        return failed(why, "setuid");
    if (getuid() != uid || geteuid() != uid || getgid() != gid ||
        getegid() != gid)
        return refused(why, "user or group did not change");
    n = getgroups(2, groups);
    if (n != 1 || groups[0] != gid)
        return refused(why, "supplementary groups did not change");
    if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
        return refused(why, "root could be regained after setuid");
    if (gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
        return refused(why, "group 0 could be regained after setgid");
    return 0;
}
