/*
 * ctl_instance.c: finding the instance directory and naming files in it.
 *
 * Every command takes DIR as the user gave it; we work with its absolute,
 * symlink-free path so that children (which chdir there and get it as
 * $QMAILHOME) and pid files agree whatever the caller's cwd was.
 */
#include "ctl.h"

#include <grp.h>
#include <pwd.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "timeutil.h"

_Noreturn void ctl_nomem(void)
{
    errno = ENOMEM;
    log_die_errno(CTL_FAIL, "fatal");
}

const char *ctl_path(dstr *out, const dstr *root, const char *rel)
{
    if (dstr_copyb(out, root->s, root->len) == -1 ||
        dstr_catc(out, '/') == -1 || dstr_cats(out, rel) == -1 ||
        dstr_cat0(out) == -1)
        ctl_nomem();
    return out->s;
}

/* Resolve the longest existing prefix of the absolute path abs with
 * realpath(3) and append the part that does not exist yet. */
static int resolve(dstr *out, const char *abs)
{
    dstr head = DSTR_ZERO;
    size_t cut = strlen(abs);
    char *real = 0;

    for (;;) {
        if (dstr_copyb(&head, abs, cut) == -1 || dstr_cat0(&head) == -1)
            ctl_nomem();
        real = realpath(cut ? head.s : "/", 0);
        if (real)
            break;
        if (errno != ENOENT) {
            dstr_free(&head);
            return -1;
        }
        while (cut > 0 && abs[cut - 1] != '/')
            cut--;
        while (cut > 0 && abs[cut - 1] == '/')
            cut--;
    }
    dstr_free(&head);
    if (dstr_copys(out, real) == -1)
        ctl_nomem();
    free(real);
    while (out->len > 1 && out->s[out->len - 1] == '/')
        out->len--;
    if (abs[cut]) {
        if (!(out->len == 1 && out->s[0] == '/') && dstr_catc(out, '/') == -1)
            ctl_nomem();
        while (abs[cut] == '/')
            cut++;
        if (dstr_cats(out, abs + cut) == -1)
            ctl_nomem();
        while (out->len > 1 && out->s[out->len - 1] == '/')
            out->len--;
    }
    if (dstr_cat0(out) == -1)
        ctl_nomem();
    return 0;
}

int ctl_abspath(dstr *out, const char *dir)
{
    dstr abs = DSTR_ZERO;
    int r;

    if (!*dir) {
        errno = ENOENT;
        return -1;
    }
    if (dir[0] != '/') {
        char *cwd = getcwd(0, 0);
        if (!cwd)
            return -1;
        r = dstr_copys(&abs, cwd);
        free(cwd);
        if (r == -1 || dstr_catc(&abs, '/') == -1)
            ctl_nomem();
    }
    if (dstr_cats(&abs, dir) == -1 || dstr_cat0(&abs) == -1)
        ctl_nomem();
    r = resolve(out, abs.s);
    dstr_free(&abs);
    return r;
}

int ctl_instance_open(ctl_instance *in, const char *dir)
{
    dstr me = DSTR_ZERO;
    struct stat st;

    in->root = (dstr)DSTR_ZERO;
    if (ctl_abspath(&in->root, dir) == -1) {
        log_errno("%s: cannot find directory", dir);
        return -1;
    }
    if (stat(in->root.s, &st) == -1) {
        log_errno("%s: cannot use instance directory", in->root.s);
        goto fail;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_line("%s: not a directory", in->root.s);
        goto fail;
    }
    ctl_path(&me, &in->root, "control/me");
    if (access(me.s, F_OK) == -1) {
        if (errno == ENOENT)
            log_line("%s: not a qmail instance (no control/me); create one "
                     "with: qmailctl init %s", in->root.s, dir);
        else
            log_errno("%s: cannot check", me.s);
        dstr_free(&me);
        goto fail;
    }
    dstr_free(&me);
    if (ctl_own_init(in->root.s) == -1) {
        log_errno("%s: cannot stat", in->root.s);
        goto fail;
    }
    if (ctl_system_init(&in->root) == -1)
        goto fail;
    return 0;
fail:
    dstr_free(&in->root);
    return -1;
}

void ctl_instance_free(ctl_instance *in) { dstr_free(&in->root); }

int ctl_lock(const dstr *root, int timeout_ms)
{
    dstr path = DSTR_ZERO;
    int64_t deadline = time_mono_ms() + timeout_ms;
    struct timespec pause = {0, 100 * 1000000L};
    int fd;

    ctl_path(&path, root, "run");
    fd = open(path.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1) {
        log_errno("%s: cannot open", path.s);
        goto fail;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            log_errno("%s: cannot lock", path.s);
            goto fail;
        }
        if (time_mono_ms() >= deadline) {
            log_line("%s: another qmailctl is starting or stopping this "
                     "instance (it holds the lock on %s); try again later",
                     root->s, path.s);
            goto fail;
        }
        nanosleep(&pause, 0);
    }
    dstr_free(&path);
    return fd;
fail:
    if (fd != -1)
        close(fd);
    dstr_free(&path);
    return -1;
}

/* ---- ownership when root works on a user's instance ----------------- */

static int own_active;
static uid_t own_uid;
static gid_t own_gid;

int ctl_own_init(const char *root)
{
    struct stat st;

    own_active = 0;
    if (geteuid() != 0)
        return 0;
    if (stat(root, &st) == -1)
        return -1;
    if (st.st_uid != 0) {
        own_active = 1;
        own_uid = st.st_uid;
        own_gid = st.st_gid;
    }
    return 0;
}

int ctl_own(const char *path)
{
    if (!own_active)
        return 0;
    return lchown(path, own_uid, own_gid);
}

int ctl_server_ids(uid_t *uid, gid_t *gid)
{
    struct passwd *pw;
    struct group *gr;

    if (geteuid() != 0)
        return 0;
    if (ctl_system()) {
        if (ctl_system_user("qmaild", uid, gid) == -1) {
            log_line("a root install runs its mail servers as user qmaild, "
                     "which does not exist (make install creates it)");
            return -1;
        }
        return 1;
    }
    if (own_active) {
        *uid = own_uid;
        *gid = own_gid;
        return 1;
    }
    pw = getpwnam("nobody");
    gr = getgrnam("nogroup");
    if (!pw || pw->pw_uid == 0)
        return 0;
    *uid = pw->pw_uid;
    *gid = gr ? gr->gr_gid : pw->pw_gid;
    return 1;
}

int ctl_queue_share(const dstr *root)
{
    struct group *gr;
    dstr p = DSTR_ZERO;
    char rel[32];
    unsigned b;
    int r = -1;

    if (own_active || geteuid() != 0)
        return 0; /* the delivery user owns the queue already */
    if (ctl_system())
        return ctl_system_layout(root); /* setuid qmail-queue instead */
    gr = getgrnam("nogroup");
    if (!gr)
        return 0;
#define SHARE(relpath, mode)                                                \
    do {                                                                    \
        ctl_path(&p, root, relpath);                                        \
        if (lchown(p.s, 0, gr->gr_gid) == -1 || chmod(p.s, mode) == -1) {   \
            log_errno("%s: cannot set group or mode", p.s);                 \
            goto out;                                                       \
        }                                                                   \
    } while (0)
    SHARE("queue", 0750);
    SHARE("queue/lock", 0750);
    SHARE("queue/mess", 0750);
    SHARE("queue/tmp", 01770);
    for (b = 0; b < 64; b++) {
        snprintf(rel, sizeof rel, "queue/mess/%02u", b);
        SHARE(rel, 01770);
    }
#undef SHARE
    r = 0;
out:
    dstr_free(&p);
    return r;
}

int ctl_own_mailbox(const char *path)
{
    struct passwd *pw;
    struct group *gr;

    if (own_active || geteuid() != 0)
        return ctl_own(path);
    /* root, in an instance owned by root: mail is never delivered as
     * root, so the mailbox goes to an unprivileged account until a root
     * install gives each user a real one */
    pw = getpwnam("nobody");
    gr = getgrnam("nogroup");
    if (!pw) {
        errno = ENOENT;
        return -1;
    }
    return lchown(path, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid);
}

/* ---- removing what we created ---------------------------------------- */

static int remove_one(const char *path, const struct stat *st, int type,
                      struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) == -1 && errno != ENOENT)
        return -1;
    return 0;
}

int ctl_remove_tree(const char *path)
{
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
