/*
 * ctl_user.c: `qmailctl adduser DIR NAME [--password P | --password-file F]`.
 *
 * A user NAME of an instance is the home DIR/mail/NAME/ holding
 * Maildir/{cur,new,tmp}; qmail-lspawn delivers NAME@<each local domain>
 * there.  Its POP3 password is a line "NAME:HASH" in DIR/users/passwd (mode
 * 0600), HASH a yescrypt ("$y$") hash from libxcrypt, or sha512-crypt
 * ("$6$") where yescrypt is unavailable.  Clear-text passwords are never
 * stored.
 *
 * adduser on an existing user refuses unless a password option is given;
 * then it only replaces the password (and re-creates missing Maildir
 * directories).  A new home is built as mail/.NAME.new.PID and renamed into
 * place after the password file was written, so a user never exists
 * half-made.  users/ is flock()ed while the password file is rewritten so
 * that concurrent adduser commands do not lose each other's update.
 *
 * Trusts: the name only after ctl_username_ok(); the password is opaque
 * bytes (no NUL, no newline) that only reach crypt_rn().
 */
#include "ctl.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "file.h"
#include "log.h"

#define PASSWORD_MAX 1024
#define PASSWD_FILE_MAX (16 * 1024 * 1024)

/* ---- the password -------------------------------------------------------- */

static int read_password_file(const char *name, dstr *pw)
{
    char buf[PASSWORD_MAX + 2];
    size_t n = 0;
    char *nl;
    int fd;

    fd = strcmp(name, "-") == 0 ? 0 : file_open_read(name);
    if (fd == -1) {
        log_errno("%s: cannot open password file", name);
        return -1;
    }
    while (n < sizeof buf) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            log_errno("%s: cannot read password file", name);
            if (fd)
                close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (memchr(buf, '\n', n))
            break;
    }
    if (fd)
        close(fd);
    nl = memchr(buf, '\n', n);
    if (nl)
        n = (size_t)(nl - buf);
    else if (n > PASSWORD_MAX) {
        log_line("%s: password longer than %d bytes", name, PASSWORD_MAX);
        explicit_bzero(buf, sizeof buf);
        return -1;
    }
    if (n && buf[n - 1] == '\r')
        n--;
    if (dstr_copyb(pw, buf, n) == -1 || dstr_cat0(pw) == -1)
        ctl_nomem();
    explicit_bzero(buf, sizeof buf);
    if (memchr(pw->s, 0, pw->len)) {
        log_line("%s: password contains a NUL byte", name);
        return -1;
    }
    if (pw->len == 0) {
        log_line("%s: password is empty", name);
        return -1;
    }
    if (pw->len > PASSWORD_MAX) {
        log_line("%s: password longer than %d bytes", name, PASSWORD_MAX);
        return -1;
    }
    return 0;
}

static int get_password(const char *opt_pw, const char *opt_file, dstr *pw)
{
    if (opt_file)
        return read_password_file(opt_file, pw);
    if (!*opt_pw) {
        log_line("--password: password is empty");
        return -1;
    }
    if (strlen(opt_pw) > PASSWORD_MAX) {
        log_line("--password: password longer than %d bytes", PASSWORD_MAX);
        return -1;
    }
    if (strchr(opt_pw, '\n')) {
        log_line("--password: password contains a newline");
        return -1;
    }
    if (dstr_copys(pw, opt_pw) == -1 || dstr_cat0(pw) == -1)
        ctl_nomem();
    return 0;
}

/* Hash pw with a fresh random salt: yescrypt, else sha512-crypt. */
static int hash_password(const char *pw, dstr *hash)
{
    static const char *const methods[] = {"$y$", "$6$"};
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *data;
    const char *out = 0;
    size_t i;

    data = calloc(1, sizeof *data);
    if (!data)
        ctl_nomem();
    for (i = 0; i < sizeof methods / sizeof methods[0] && !out; i++) {
        if (!crypt_gensalt_rn(methods[i], 0, 0, 0, salt, sizeof salt) ||
            salt[0] != '$')
            continue;
        out = crypt_rn(pw, salt, data, (int)sizeof *data);
        if (out && (out[0] != '$' || strchr(out, ':') || strchr(out, '\n')))
            out = 0;
    }
    if (!out) {
        log_errno("crypt: cannot hash the password (neither yescrypt nor "
                  "sha512-crypt is available)");
        free(data);
        return -1;
    }
    if (dstr_copys(hash, out) == -1 || dstr_cat0(hash) == -1)
        ctl_nomem();
    explicit_bzero(data, sizeof *data);
    free(data);
    return 0;
}

/* ---- users/passwd -------------------------------------------------------- */

/* Rewrite users/passwd with NAME's line replaced by "NAME:hash" (hash NULL:
 * NAME's line removed).  Other lines are kept as they are.  old receives
 * the previous contents and *existed whether the file was there, for
 * undo. */
static int passwd_update(const dstr *root, const char *name, const char *hash,
                         dstr *old, int *existed)
{
    dstr path = DSTR_ZERO, out = DSTR_ZERO;
    size_t nlen = strlen(name), pos = 0;
    int done = 0, r = -1;

    ctl_path(&path, root, "users/passwd");
    *existed = 1;
    if (file_read(path.s, old, PASSWD_FILE_MAX) == -1) {
        if (errno != ENOENT) {
            log_errno("%s: cannot read", path.s);
            goto out;
        }
        *existed = 0;
        old->len = 0;
    }
    while (pos < old->len) {
        const char *line = old->s + pos;
        const char *nl = memchr(line, '\n', old->len - pos);
        size_t len = nl ? (size_t)(nl - line) : old->len - pos;
        pos += len + (nl ? 1 : 0);
        if (len > nlen && memcmp(line, name, nlen) == 0 && line[nlen] == ':') {
            if (done || !hash)
                continue;   /* drop it (or a duplicate) */
            if (dstr_catf(&out, "%s:%s\n", name, hash) == -1)
                ctl_nomem();
            done = 1;
            continue;
        }
        if (dstr_catb(&out, line, len) == -1 || dstr_catc(&out, '\n') == -1)
            ctl_nomem();
    }
    if (hash && !done && dstr_catf(&out, "%s:%s\n", name, hash) == -1)
        ctl_nomem();
    if (!*existed && out.len == 0) {
        r = 0;      /* nothing to store, and no file to change */
        goto out;
    }
    if (file_write_atomic(path.s, out.s, out.len, 0600) == -1 ||
        ctl_own(path.s) == -1) {
        log_errno("%s: cannot write", path.s);
        goto out;
    }
    r = 0;
out:
    dstr_free(&path);
    dstr_free(&out);
    return r;
}

static void passwd_restore(const dstr *root, const dstr *old, int existed)
{
    dstr path = DSTR_ZERO;

    ctl_path(&path, root, "users/passwd");
    if (existed) {
        if (file_write_atomic(path.s, old->s, old->len, 0600) == -1)
            log_errno("%s: cannot restore", path.s);
    } else {
        unlink(path.s);
    }
    dstr_free(&path);
}

/* ---- the home --------------------------------------------------------- */

static int make_dir(const char *path, mode_t mode, int (*own)(const char *))
{
    if (mkdir(path, mode) == -1) {
        if (errno == EEXIST) {
            struct stat st;
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                return 0;
            errno = EEXIST;
        }
        log_errno("%s: cannot create directory", path);
        return -1;
    }
    if (chmod(path, mode) == -1 || own(path) == -1) {
        log_errno("%s: cannot set mode or owner", path);
        return -1;
    }
    return 0;
}

/* home/, home/Maildir/ and its cur, new and tmp (existing ones are kept). */
static int make_home(const char *home)
{
    static const char *const subs[] = {"/Maildir", "/Maildir/cur",
                                       "/Maildir/new", "/Maildir/tmp"};
    dstr p = DSTR_ZERO;
    size_t i;
    int r = -1;

    if (make_dir(home, 0700, ctl_own_mailbox) == -1)
        goto out;
    for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (dstr_copys(&p, home) == -1 || dstr_cats(&p, subs[i]) == -1 ||
            dstr_cat0(&p) == -1)
            ctl_nomem();
        if (make_dir(p.s, 0700, ctl_own_mailbox) == -1)
            goto out;
    }
    r = 0;
out:
    dstr_free(&p);
    return r;
}

/* "NAME@a, NAME@b" for every line of control/locals (control/me if none). */
static void addresses(const dstr *root, const char *name, dstr *out)
{
    dstr path = DSTR_ZERO, list = DSTR_ZERO;
    const char *d;

    if (control_readlist(ctl_path(&path, root, "control/locals"), &list) != 1 ||
        list.len == 0) {
        list.len = 0;
        if (control_readline(ctl_path(&path, root, "control/me"), &list,
                             "localhost") == -1 ||
            dstr_catc(&list, 0) == -1)
            ctl_nomem();
    }
    for (d = list_first(&list); d; d = list_next(&list, d))
        if (dstr_catf(out, "%s%s@%s", out->len ? ", " : "", name, d) == -1)
            ctl_nomem();
    if (dstr_cat0(out) == -1)
        ctl_nomem();
    dstr_free(&path);
    dstr_free(&list);
}

int ctl_cmd_adduser(int argc, char **argv)
{
    ctl_opt opts[] = {{"password", 0, 0}, {"password-file", 0, 0}, {0, 0, 0}};
    const char *opt_pw, *opt_file, *name;
    ctl_args a;
    ctl_instance in = {DSTR_ZERO};
    dstr pw = DSTR_ZERO, hash = DSTR_ZERO, home = DSTR_ZERO, tmp = DSTR_ZERO;
    dstr users = DSTR_ZERO, old = DSTR_ZERO, addrs = DSTR_ZERO;
    int lockfd = -1, existed = 0, r = CTL_FAIL;
    struct stat st;

    if (ctl_args_parse(argc, argv, opts, &a) == -1)
        return CTL_USAGE;
    opt_pw = ctl_opt_get(opts, "password");
    opt_file = ctl_opt_get(opts, "password-file");
    if (a.npos != 2 || (opt_pw && opt_file)) {
        log_line("usage: qmailctl adduser DIR NAME [--password P | "
                 "--password-file F]");
        return CTL_USAGE;
    }
    name = a.pos[1];
    if (!ctl_username_ok(name)) {
        log_line("user name %s refused: use 1-%d of a-z 0-9 . _ -, not "
                 "starting with . or -", name, CTL_USERNAME_MAX);
        return CTL_FAIL;
    }
    if (ctl_instance_open(&in, a.pos[0]) == -1)
        return CTL_FAIL;
    umask(077);
    if ((opt_pw || opt_file) && (get_password(opt_pw, opt_file, &pw) == -1 ||
                                 hash_password(pw.s, &hash) == -1))
        goto out;

    ctl_path(&users, &in.root, "users");
    lockfd = open(users.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lockfd == -1 || flock(lockfd, LOCK_EX) == -1) {
        log_errno("%s: cannot lock", users.s);
        goto out;
    }
    if (dstr_copys(&tmp, "mail/") == -1 || dstr_cats(&tmp, name) == -1 ||
        dstr_cat0(&tmp) == -1)
        ctl_nomem();
    ctl_path(&home, &in.root, tmp.s);
    addresses(&in.root, name, &addrs);

    if (lstat(home.s, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            log_line("%s: exists and is not a directory", home.s);
            goto out;
        }
        if (!hash.len) {
            log_line("user %s already exists (%s); give --password or "
                     "--password-file to change its password", name, home.s);
            goto out;
        }
        if (make_home(home.s) == -1 ||
            passwd_update(&in.root, name, hash.s, &old, &existed) == -1)
            goto out;
        printf("user %s exists (%s): password changed\n", name, home.s);
        r = CTL_OK;
        goto out;
    }
    if (errno != ENOENT) {
        log_errno("%s: cannot check", home.s);
        goto out;
    }

    /* a new user: build the home aside, then the password, then rename */
    if (dstr_copys(&tmp, "mail/.") == -1 || dstr_cats(&tmp, name) == -1 ||
        dstr_catf(&tmp, ".new.%ld", (long)getpid()) == -1 ||
        dstr_cat0(&tmp) == -1)
        ctl_nomem();
    {
        dstr t = DSTR_ZERO;
        ctl_path(&t, &in.root, tmp.s);
        dstr_free(&tmp);
        tmp = t;
    }
    ctl_remove_tree(tmp.s); /* debris of an earlier run with our pid */
    if (make_home(tmp.s) == -1) {
        ctl_remove_tree(tmp.s);
        goto out;
    }
    /* without a password, a stale line for NAME must not come back to life */
    if (passwd_update(&in.root, name, hash.len ? hash.s : 0, &old,
                      &existed) == -1) {
        ctl_remove_tree(tmp.s);
        goto out;
    }
    if (rename(tmp.s, home.s) == -1) {
        log_errno("%s: cannot rename %s to it", home.s, tmp.s);
        passwd_restore(&in.root, &old, existed);
        ctl_remove_tree(tmp.s);
        goto out;
    }
    file_fsync_parent(home.s);
    if (hash.len)
        printf("created user %s: mail for %s goes to %s/Maildir/; POP3 "
               "password set\n", name, addrs.s, home.s);
    else
        printf("created user %s: mail for %s goes to %s/Maildir/; no POP3 "
               "password set (POP3 login refused until you run qmailctl "
               "adduser %s %s --password-file FILE)\n",
               name, addrs.s, home.s, a.pos[0], name);
    r = CTL_OK;
out:
    fflush(stdout);
    if (lockfd != -1)
        close(lockfd);
    if (pw.s)
        explicit_bzero(pw.s, pw.cap);
    dstr_free(&pw);
    dstr_free(&hash);
    dstr_free(&home);
    dstr_free(&tmp);
    dstr_free(&users);
    dstr_free(&old);
    dstr_free(&addrs);
    ctl_instance_free(&in);
    return r;
}
