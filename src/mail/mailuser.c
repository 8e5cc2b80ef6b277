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

#include "cdbmap.h"
#include "dotqmail.h"
#include "dstr.h"
#include "num.h"

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

/*
 * users/cdb, built by qmail-newu from users/assign.  Keys: "=" local for
 * exact lines, "+" prefix for wildcard lines.  Values: user, uid, gid,
 * home, dash, ext (exact) or pre (wildcard), each NUL-terminated.
 * Returns 1 found, 0 not, -1 error (why set).
 */
static int assign_value(const dstr *v, struct mailuser *u, const char *rest,
                        char *why, size_t whysize)
{
    const char *f[6];
    size_t i = 0, n = 0;
    unsigned long long uid, gid;

    while (n < 6 && i < v->len) {
        const char *z = memchr(v->s + i, 0, v->len - i);
        if (!z)
            break;
        f[n++] = v->s + i;
        i = (size_t)(z - v->s) + 1;
    }
    if (n != 6 || i != v->len || num_scan_ulong_str(f[1], &uid) == -1 ||
        num_scan_ulong_str(f[2], &gid) == -1 || f[3][0] != '/' ||
        strlen(f[0]) > MAILUSER_NAME_MAX || strlen(f[3]) >= sizeof u->home ||
        strlen(f[5]) + strlen(rest) >= sizeof u->ext || strlen(f[4]) > 1) {
        snprintf(why, whysize, "users/cdb is damaged: run qmail-newu");
        return -1;
    }
    snprintf(u->user, sizeof u->user, "%s", f[0]);
    u->uid = (uid_t)uid;
    u->gid = (gid_t)gid;
    snprintf(u->home, sizeof u->home, "%s", f[3]);
    snprintf(u->dash, sizeof u->dash, "%s", f[4]);
    snprintf(u->ext, sizeof u->ext, "%s%s", f[5], rest);
    return 1;
}

static int try_assign(struct mailuser *u, char *why, size_t whysize)
{
    char path[PATH_MAX];
    dstr key = DSTR_ZERO, val = DSTR_ZERO;
    size_t llen = strlen(u->local), len;
    int r;

    if (snprintf(path, sizeof path, "%s/users/cdb", home) >= (int)sizeof path)
        return 0;
    if (dstr_catc(&key, '=') == -1 || dstr_cats(&key, u->local) == -1)
        goto nomem;
    r = cdbmap_lookup(path, key.s, key.len, &val);
    if (r == 1)
        r = assign_value(&val, u, "", why, whysize);
    /* wildcard lines: the longest matching prefix, down to "" */
    for (len = llen + 1; r == 0 && len-- > 0;) {
        key.len = 0;
        if (dstr_catc(&key, '+') == -1 ||
            dstr_catb(&key, u->local, len) == -1)
            goto nomem;
        r = cdbmap_lookup(path, key.s, key.len, &val);
        if (r == 1)
            r = assign_value(&val, u, u->local + len, why, whysize);
    }
    if (r == -1 && why[0] == 0)
        snprintf(why, whysize, "unable to read users/cdb: %s",
                 strerror(errno));
    dstr_free(&key);
    dstr_free(&val);
    return r;
nomem:
    dstr_free(&key);
    dstr_free(&val);
    snprintf(why, whysize, "out of memory");
    return -1;
}

static int try_alias(struct mailuser *u, char *why, size_t whysize)
{
    char path[PATH_MAX];
    struct stat st;

    /* the whole local part becomes a file name component: no '/', no
     * leading '.' */
    if (strchr(u->local, '/') || u->local[0] == '.')
        return 0;
    if (snprintf(path, sizeof path, "%s/alias", home) >= (int)sizeof path)
        return 0;
    if (stat(path, &st) == -1) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whysize, "unable to look at %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return 0;
    snprintf(u->user, sizeof u->user, "alias");
    snprintf(u->home, sizeof u->home, "%s", path);
    u->uid = st.st_uid;
    u->gid = st.st_gid;
    u->dash[0] = '-';
    u->dash[1] = 0;
    snprintf(u->ext, sizeof u->ext, "%s", u->local);
    u->alias = 1;
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
    if (whysize)
        why[0] = 0;
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

    /* users/assign (compiled into users/cdb) wins over everything */
    r = try_assign(u, why, whysize);
    if (r != 0)
        return r == 1 ? 0 : -1;

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
    /* last, the alias user: its .qmail-LOCAL files (postmaster, root,
     * mailer-daemon, default...) decide */
    r = try_alias(u, why, whysize);
    if (r != 0)
        return r == 1 ? 0 : -1;
    snprintf(why, whysize, "!no mailbox here by that name: %s (#5.1.1)",
             u->local);
    return -1;
}

int mailuser_deliverable(const struct mailuser *u)
{
    dstr name = DSTR_ZERO, deflt = DSTR_ZERO;
    int r;

    if (!u->alias && u->ext[0] == 0)
        return 1; /* .qmail or the default delivery */
    r = dotqmail_find(u->home, u->dash, u->ext, &name, &deflt);
    dstr_free(&name);
    dstr_free(&deflt);
    return r;
}
