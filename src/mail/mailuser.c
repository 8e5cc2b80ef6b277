/*
 * mailuser.c: recipient to user.  See mailuser.h.
 * The recipient comes from mail: it is checked character by character
 * before any part of it is used in a path.
 */
#include "mailuser.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char home[PATH_MAX];
static int with_system_users;

int mailuser_init(int system_users)
{
    with_system_users = system_users;
    return getcwd(home, sizeof home) ? 0 : -1;
}

int mailuser_name_ok(const char *name, size_t len)
{
    size_t i;

    if (len == 0 || len > MAILUSER_NAME_MAX || name[0] == '.' ||
        name[0] == '-')
        return 0;
    for (i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Try name as an instance user, then (as root) as a system user.
 * Returns 1 found, 0 not found, -1 temporary error (why set). */
static int try_user(const char *name, struct mailuser *u, char *why,
                    size_t whysize)
{
    char path[PATH_MAX];
    struct stat st;
    struct passwd *pw;

    if (snprintf(path, sizeof path, "%s/mail/%s", home, name) >=
        (int)sizeof path)
        return 0;
    if (lstat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(why, whysize, "mailbox home %s is not a directory",
                     path);
            return -1;
        }
        snprintf(u->home, sizeof u->home, "%s", path);
        snprintf(u->user, sizeof u->user, "%s", name);
        u->uid = st.st_uid;
        u->gid = st.st_gid;
        return 1;
    }
    if (errno != ENOENT) {
        snprintf(why, whysize, "unable to look at %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (!with_system_users)
        return 0;
    errno = 0;
    pw = getpwnam(name);
    if (!pw) {
        if (errno && errno != ENOENT && errno != ESRCH) {
            snprintf(why, whysize, "unable to read the passwd database: %s",
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    if (pw->pw_uid == 0 || strlen(pw->pw_dir) >= sizeof u->home)
        return 0; /* root's mail goes through aliases, never as root */
    /* an account whose home is missing or not its own gets no mail; a
     * home that cannot be looked at now (NFS, EIO) is a temporary error */
    if (stat(pw->pw_dir, &st) == -1) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        snprintf(why, whysize, "unable to look at home of %s: %s", name,
                 strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != pw->pw_uid)
        return 0;
    snprintf(u->home, sizeof u->home, "%s", pw->pw_dir);
    snprintf(u->user, sizeof u->user, "%s", name);
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    return 1;
}

int mailuser_find(const char *rcpt, struct mailuser *u, char *why,
                     size_t whysize)
{
    const char *at = strrchr(rcpt, '@');
    size_t llen = at ? (size_t)(at - rcpt) : strlen(rcpt);
    size_t i, cut;
    int r;

    memset(u, 0, sizeof *u);
    if (llen == 0 || llen >= sizeof u->local ||
        (at && strlen(at + 1) >= sizeof u->domain)) {
        snprintf(why, whysize, "!address %s is not acceptable here (#5.1.3)",
                 llen == 0 ? "with an empty local part" : "too long");
        return -1;
    }
    for (i = 0; i < llen; i++) {
        char c = rcpt[i];
        u->local[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    u->local[llen] = 0;
    snprintf(u->domain, sizeof u->domain, "%s", at ? at + 1 : "");
    for (i = 0; u->domain[i]; i++)
        if (u->domain[i] >= 'A' && u->domain[i] <= 'Z')
            u->domain[i] = (char)(u->domain[i] + 32);

    /* longest prefix ending at a '-' (or the whole local part) first */
    cut = llen;
    for (;;) {
        if (mailuser_name_ok(u->local, cut)) {
            char name[MAILUSER_NAME_MAX + 1];
            memcpy(name, u->local, cut);
            name[cut] = 0;
            r = try_user(name, u, why, whysize);
            if (r == -1)
                return -1;
            if (r == 1) {
                if (cut < llen) {
                    u->dash[0] = '-';
                    snprintf(u->ext, sizeof u->ext, "%s",
                             u->local + cut + 1);
                }
                return 0;
            }
        }
        while (cut > 0 && u->local[cut - 1] != '-')
            cut--;
        if (cut <= 1)
            break;
        cut--; /* drop the '-' itself */
    }
    snprintf(why, whysize, "!no mailbox here by that name: %s (#5.1.1)",
             u->local);
    return -1;
}
