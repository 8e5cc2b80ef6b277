/*
 * checkpw_user.c: find the user behind a POP3 login name.  See
 * checkpw_user.h for the order of the lookups.
 */
#include "checkpw_user.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailuser.h"

static enum checkpw_found temp(char *why, size_t whysize, const char *what,
                               const char *path)
{
    snprintf(why, whysize, "%s %s: %s", what, path, strerror(errno));
    return CHECKPW_USER_TEMP;
}

static enum checkpw_found system_user(const char *name,
                                      struct checkpw_user *u, char *why,
                                      size_t whysize)
{
    struct passwd *pw;
    struct spwd *sp;
    struct stat st;
    const char *hash;

    errno = 0;
    pw = getpwnam(name);
    if (!pw) {
        if (errno && errno != ENOENT && errno != ESRCH && errno != EBADF &&
            errno != EPERM)
            return temp(why, whysize, "unable to look up", name);
        return CHECKPW_USER_UNKNOWN;
    }
    if (pw->pw_uid == 0) {
        snprintf(why, whysize, "%s has uid 0: never served", name);
        return CHECKPW_USER_NOLOGIN;
    }
    if (pw->pw_gid == 0) {
        snprintf(why, whysize, "%s has gid 0: never served", name);
        return CHECKPW_USER_NOLOGIN;
    }
    errno = 0;
    sp = getspnam(name);
    if (sp) {
        hash = sp->sp_pwdp;
        if (sp->sp_expire > 0 && (long)(time(0) / 86400) >= sp->sp_expire)
            u->expired = 1;
    } else {
        if (errno && errno != ENOENT && errno != ESRCH)
            return temp(why, whysize, "unable to read the shadow entry of",
                        name);
        hash = pw->pw_passwd;
    }
    if (!hash || strlen(hash) >= sizeof u->hash ||
        strlen(pw->pw_dir) >= sizeof u->home ||
        strlen(pw->pw_shell) >= sizeof u->shell) {
        snprintf(why, whysize, "%s: unusable account entry", name);
        return CHECKPW_USER_NOLOGIN;
    }
    snprintf(u->hash, sizeof u->hash, "%s", hash);
    snprintf(u->home, sizeof u->home, "%s", pw->pw_dir);
    snprintf(u->shell, sizeof u->shell, "%s", pw->pw_shell);
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    u->system = 1;
    if (stat(u->home, &st) == -1) {
        if (errno == ENOENT || errno == ENOTDIR) {
            snprintf(why, whysize, "%s: home %s does not exist", name,
                     u->home);
            return CHECKPW_USER_NOLOGIN;
        }
        return temp(why, whysize, "unable to look at home", u->home);
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != u->uid) {
        snprintf(why, whysize, "%s: home %s is not a directory of its own",
                 name, u->home);
        return CHECKPW_USER_NOLOGIN;
    }
    return CHECKPW_USER_OK;
}

enum checkpw_found checkpw_user_find(const char *qhome, const char *name,
                                     size_t namelen, int system_users,
                                     struct checkpw_user *u, char *why,
                                     size_t whysize)
{
    char path[PATH_MAX];
    struct stat st;
    int fd, n, found;

    memset(u, 0, sizeof *u);
    why[0] = 0;
    if (!mailuser_name_ok(name, namelen) || namelen >= sizeof u->name ||
        memchr(name, 0, namelen))
        return CHECKPW_USER_UNKNOWN;
    memcpy(u->name, name, namelen);
    u->name[namelen] = 0;

    n = snprintf(path, sizeof path, "%s/users/passwd", qhome);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(why, whysize, "instance path too long");
        return CHECKPW_USER_TEMP;
    }
    found = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd == -1) {
        if (errno != ENOENT)
            return temp(why, whysize, "unable to open", path);
    } else {
        found = checkpw_passwd_find(fd, u->name, namelen, u->hash,
                                    sizeof u->hash);
        close(fd);
        if (found == -1)
            return temp(why, whysize, "unable to read", path);
    }

    n = snprintf(u->home, sizeof u->home, "%s/mail/%s", qhome, u->name);
    if (n < 0 || (size_t)n >= sizeof u->home) {
        snprintf(why, whysize, "instance path too long");
        return CHECKPW_USER_TEMP;
    }
    if (lstat(u->home, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(why, whysize, "%s is not a directory", u->home);
            return CHECKPW_USER_NOLOGIN;
        }
        u->uid = st.st_uid;
        u->gid = st.st_gid;
        if (!found) {
            snprintf(why, whysize, "%s has no POP3 password", u->name);
            return CHECKPW_USER_NOLOGIN;
        }
        return CHECKPW_USER_OK;
    }
    if (errno != ENOENT)
        return temp(why, whysize, "unable to look at", u->home);
    if (found) {
        snprintf(why, whysize, "%s has a password but no home %s", u->name,
                 u->home);
        return CHECKPW_USER_NOLOGIN;
    }
    u->home[0] = 0;
    if (!system_users)
        return CHECKPW_USER_UNKNOWN;
    return system_user(u->name, u, why, whysize);
}
