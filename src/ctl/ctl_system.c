/*
 * ctl_system.c: the root install ("system mode") of an instance.
 *
 * An instance is in system mode when control/privsep exists.  Only
 * `qmailctl init DIR --system` writes it (`make install` runs that); it is
 * never guessed from whether the qmail users happen to exist.  In system
 * mode, as in qmail:
 *
 *   qmail-send     qmails     (qmail-start drops to it, see qmail-start.c)
 *   qmail-clean    qmailq     owner of every queue file
 *   qmail-rspawn   qmailr     and qmail-remote
 *   qmail-lspawn   root       becomes each recipient for qmail-local
 *   qmail-tcpd and the mail servers (smtpd, qmtpd, qmqpd)   qmaild
 *   qmail-queue    setuid qmailq (installed so by make install)
 *   qmail-queued   qmailq     (qmail-start drops to it)
 *   ~alias         alias
 *
 * and the queue is laid out so that each of them may write only its part:
 *
 *   queue/            0751  qmailq:qmail  (others may pass through to
 *   queue/sock        0755  qmailq:qmail   qmail-queued's socket, 0666)
 *   queue/tmp         2750  qmailq:qmail  (setgid: files get group qmail,
 *   queue/mess/NN     2750  qmailq:qmail   whoever ran qmail-queue)
 *   queue/mess, lock  0750  qmailq:qmail
 *   queue/free        0700  qmailq:qmail  (emptied files for reuse)
 *   lock/sendlock     0600  qmails:qmail  (qmail-send's lock)
 *   lock/trigger      0622  qmails:qmail  (FIFO: anyone may poke)
 *   lock/tcpto        0644  qmailr:qmail  (qmail-remote's dead hosts)
 *   lock/inflow       0644  qmails:qmail  (qmail-send's inflow flag;
 *                                          created here: qmails may not
 *                                          create files in lock/)
 *
 * Queue files are 0640 (qmail-queue's umask), readable through group
 * qmail by qmail-send and qmail-rspawn, writable only by qmailq.
 * Everything else (control/, users/, log/, run/, bin/) stays root's.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "qhome.h"
#include "queue.h"

static int system_mode;

int ctl_system_init(const dstr *root)
{
    dstr p = DSTR_ZERO;
    int r;

    ctl_path(&p, root, CTL_PRIVSEP_FILE);
    r = file_exists(p.s);
    if (r == -1)
        log_errno("%s: cannot check", p.s);
    else
        system_mode = r;
    dstr_free(&p);
    return r == -1 ? -1 : 0;
}

void ctl_system_set(int on) { system_mode = on; }

int ctl_system(void) { return system_mode; }

int ctl_system_user(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd *pw;

    errno = 0;
    pw = getpwnam(name);
    if (!pw || pw->pw_uid == 0) {
        if (!errno)
            errno = ENOENT;
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* Set owner (user NULL: keep root) and mode of root/rel, if it exists. */
static int fix(const dstr *root, const char *rel, const char *user,
               gid_t gid, mode_t mode)
{
    dstr p = DSTR_ZERO;
    struct stat st;
    uid_t uid = 0;
    gid_t ugid;
    int r = -1;

    ctl_path(&p, root, rel);
    if (lstat(p.s, &st) == -1) {
        r = errno == ENOENT ? 0 : -1;
        if (r == -1)
            log_errno("%s: cannot check", p.s);
        goto out;
    }
    if (S_ISLNK(st.st_mode)) {
        log_line("%s: is a symbolic link; refusing to change it", p.s);
        goto out;
    }
    if (user && ctl_system_user(user, &uid, &ugid) == -1) {
        log_line("%s: user %s does not exist; left as it is (make install "
                 "creates the qmail users)", p.s, user);
        r = 0;
        goto out;
    }
    /* owner first: chown clears the set-id bits that chmod then sets */
    if (lchown(p.s, uid, gid) == -1 || chmod(p.s, mode) == -1) {
        log_errno("%s: cannot set owner or mode", p.s);
        goto out;
    }
    r = 0;
out:
    dstr_free(&p);
    return r;
}

int ctl_system_layout(const dstr *root)
{
    struct group *gr;
    gid_t qmail;
    char rel[32];
    unsigned b;

    if (!system_mode)
        return 0;
    if (geteuid() != 0) {
        log_line("%s: not root: the queue keeps its owners; run qmailctl "
                 "init --system as root to give the queue to the qmail "
                 "users", root->s);
        return 0;
    }
    {
        static const char *const users[] = {"qmailq", "qmails", "qmailr"};
        uid_t uid;
        gid_t gid;
        size_t i;
        for (i = 0; i < sizeof users / sizeof users[0]; i++)
            if (ctl_system_user(users[i], &uid, &gid) == -1) {
                log_line("%s: user %s does not exist; the queue keeps its "
                         "owners (make install creates the qmail users)",
                         root->s, users[i]);
                return 0;
            }
    }
    gr = getgrnam("qmail");
    if (!gr) {
        log_line("%s: group qmail does not exist; the queue keeps its "
                 "owners (make install creates it)", root->s);
        return 0;
    }
    qmail = gr->gr_gid;
    {
        dstr p = DSTR_ZERO;
        int fd;
        ctl_path(&p, root, "queue/lock/inflow");
        fd = open(p.s, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd == -1) {
            log_errno("%s: cannot create", p.s);
            dstr_free(&p);
            return -1;
        }
        close(fd);
        dstr_free(&p);
    }
    if (fix(root, "queue", "qmailq", qmail, 0751) == -1 ||
        fix(root, "queue/sock", "qmailq", qmail, 0755) == -1 ||
        fix(root, "queue/tmp", "qmailq", qmail, 02750) == -1 ||
        fix(root, "queue/free", "qmailq", qmail, 0700) == -1 ||
        fix(root, "queue/mess", "qmailq", qmail, 0750) == -1 ||
        fix(root, "queue/lock", "qmailq", qmail, 0750) == -1 ||
        fix(root, "queue/lock/sendlock", "qmails", qmail, 0600) == -1 ||
        fix(root, "queue/lock/trigger", "qmails", qmail, 0622) == -1 ||
        fix(root, "queue/lock/tcpto", "qmailr", qmail, 0644) == -1 ||
        fix(root, "queue/lock/inflow", "qmails", qmail, 0644) == -1)
        return -1;
    for (b = 0; b < QUEUE_BUCKETS; b++) {
        snprintf(rel, sizeof rel, "queue/mess/%02u", b);
        if (fix(root, rel, "qmailq", qmail, 02750) == -1)
            return -1;
    }
    return 0;
}

int ctl_system_own_alias(const char *path)
{
    uid_t uid;
    gid_t gid;

    if (!system_mode)
        return ctl_own_mailbox(path);
    if (geteuid() != 0)
        return 0;
    if (ctl_system_user("alias", &uid, &gid) == -1) {
        static int told;
        if (!told++)
            log_line("%s: user alias does not exist; the alias home is left "
                     "owned by root, and mail to postmaster waits until it "
                     "exists (make install creates it)", path);
        return 0;
    }
    return lchown(path, uid, gid);
}

int ctl_system_check(const dstr *root)
{
    static const char *const users[] = {"qmaild", "qmailq", "qmailr",
                                        "qmails"};
    dstr q = DSTR_ZERO;
    struct stat st;
    uid_t uid, qmailq = 0;
    gid_t gid;
    size_t i;
    int r = -1;

    if (!system_mode)
        return 0;
    if (geteuid() != 0) {
        log_line("%s: a root install (%s/%s): start it as root", root->s,
                 root->s, CTL_PRIVSEP_FILE);
        return -1;
    }
    for (i = 0; i < sizeof users / sizeof users[0]; i++) {
        if (ctl_system_user(users[i], &uid, &gid) == -1) {
            log_line("%s: a root install needs user %s, which does not "
                     "exist (make install creates it)", root->s, users[i]);
            return -1;
        }
        if (strcmp(users[i], "qmailq") == 0)
            qmailq = uid;
    }
    if (dstr_copys(&q, qhome_bindir()) == -1 ||
        dstr_cats(&q, "/qmail-queue") == -1 || dstr_cat0(&q) == -1)
        ctl_nomem();
    if (stat(q.s, &st) == -1) {
        log_errno("%s: cannot check", q.s);
        goto out;
    }
    if (st.st_uid != qmailq || !(st.st_mode & S_ISUID)) {
        log_line("%s: not setuid qmailq, so the servers could not queue "
                 "mail in a root install; use the qmailctl that make "
                 "install put beside it, or run make install", q.s);
        goto out;
    }
    r = 0;
out:
    dstr_free(&q);
    return r;
}
