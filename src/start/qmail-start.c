/*
 * qmail-start: start the delivery side of an instance.
 *
 * Creates the pipes that join qmail-send to qmail-lspawn and qmail-clean,
 * starts those two, and then becomes qmail-send (exec), so the pid of
 * qmail-start is qmail-send's: signals for qmail-send go to it.  All three
 * log to the inherited stderr.  Run with cwd or $QMAILHOME at the instance.
 *
 * Descriptors given to qmail-send: 3 = requests to qmail-lspawn,
 * 4 = its replies, 5 = requests to qmail-clean, 6 = its replies, 7 =
 * requests to qmail-rspawn, 8 = its replies.  qmail-lspawn, qmail-clean
 * and qmail-rspawn read requests on fd 0, reply on fd 1, and exit when
 * qmail-send closes their input.
 *
 * qmail-queued (the queue writer behind queue/sock/queued) is started
 * last, detached (not our child, so qmail-send does not wait for it when
 * it stops), with the read end of a pipe on its fd 0 whose write end only
 * qmail-send holds (on a descriptor above 8 that it never uses): when
 * qmail-send exits, qmail-queued sees end of file and exits too.  If it
 * cannot start, mail is still queued: callers run qmail-queue instead.
 *
 * Privileges: in a root install (control/privsep exists, written by
 * `qmailctl init --system`, which `make install` runs) qmail-start must run
 * as root and gives each program its own user, qmail's split:
 * qmail-lspawn keeps root (it becomes each recipient), qmail-clean runs as
 * qmailq (owner of the queue files), and so does qmail-queued,
 * qmail-rspawn as qmailr, qmail-send as
 * qmails, each with its user's primary group (qmail) as its only group.
 * A missing user is fatal: nothing runs as root by accident.  Without
 * control/privsep all of them run as the caller (an ordinary user's
 * instance, or root's instance made without install).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "priv.h"
#include "qhome.h"

static void prog_path(char *out, size_t size, const char *name)
{
    const char *dir = qhome_bindir();
    if (snprintf(out, size, "%s/%s", *dir ? dir : ".", name) >= (int)size)
        log_die(111, "fatal: path too long for %s", name);
}

/* Move fd from to fd to (which must be free or equal). */
static void move_fd(int from, int to)
{
    if (from == to)
        return;
    if (dup2(from, to) == -1)
        log_die_errno(111, "fatal: dup2");
    close(from);
}

/* Make sure fds 0..8 are taken so pipe() cannot return them. */
static void reserve_low_fds(void)
{
    int fd;
    for (;;) {
        fd = open("/dev/null", O_RDWR);
        if (fd == -1)
            log_die_errno(111, "fatal: open /dev/null");
        if (fd > 8) {
            close(fd);
            return;
        }
    }
}

#define PRIVSEP_FILE "control/privsep"

/* The ids one program runs as; drop 0 means stay as we are. */
struct start_ids {
    int drop;
    uid_t uid;
    gid_t gid;
};

static void lookup_ids(struct start_ids *ids, const char *user)
{
    struct passwd *pw;

    errno = 0;
    pw = getpwnam(user);
    if (!pw) {
        if (errno)
            log_die_errno(111, "fatal: unable to look up user %s", user);
        log_die(111, "fatal: %s/%s asks for the qmail users, but user %s "
                     "does not exist (make install creates them)",
                qhome_dir(), PRIVSEP_FILE, user);
    }
    if (pw->pw_uid == 0)
        log_die(111, "fatal: user %s has uid 0; it must be an unprivileged "
                     "account", user);
    ids->drop = 1;
    ids->uid = pw->pw_uid;
    ids->gid = pw->pw_gid;
}

static void become(const struct start_ids *ids, const char *name)
{
    if (ids->drop && priv_drop(ids->uid, ids->gid) == -1)
        log_die_errno(111, "fatal: unable to switch %s to uid %ld gid %ld",
                      name, (long)ids->uid, (long)ids->gid);
}

static pid_t start_child(const char *name, int in, int out, int *closeme,
                         int nclose, const struct start_ids *ids)
{
    char path[PATH_MAX];
    pid_t pid;
    int i;

    prog_path(path, sizeof path, name);
    pid = fork();
    if (pid == -1)
        log_die_errno(111, "fatal: fork for %s", name);
    if (pid == 0) {
        char *argv[2];
        for (i = 0; i < nclose; i++)
            if (closeme[i] != in && closeme[i] != out)
                close(closeme[i]);
        if (dup2(in, 0) == -1 || dup2(out, 1) == -1)
            log_die_errno(111, "fatal: dup2 for %s", name);
        if (in > 1)
            close(in);
        if (out > 1)
            close(out);
        /* the child inherits our /dev/null on 3..8: close them */
        for (i = 3; i <= 8; i++)
            close(i);
        become(ids, name);
        argv[0] = (char *)name;
        argv[1] = 0;
        execv(path, argv);
        log_die_errno(111, "fatal: unable to run %s", path);
    }
    return pid;
}

/* start_child() through an intermediate process that exits at once, so
 * that the program is not our child: qmail-send waits for its children
 * (the helpers) when it stops, and must not wait for one that itself
 * waits for qmail-send to exit. */
static void start_detached(const char *name, int in, int out, int *closeme,
                           int nclose, const struct start_ids *ids)
{
    int status;
    pid_t pid = fork();

    if (pid == -1)
        log_die_errno(111, "fatal: fork for %s", name);
    if (pid == 0) {
        start_child(name, in, out, closeme, nclose, ids);
        _exit(0);
    }
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    int tolspawn[2], fromlspawn[2], toclean[2], fromclean[2];
    int torspawn[2], fromrspawn[2], toqueued[2];
    int all[12];
    char path[PATH_MAX];
    char *sendargv[2];
    struct start_ids root_ids = {0, 0, 0}, send_ids = {0, 0, 0},
                     clean_ids = {0, 0, 0}, rspawn_ids = {0, 0, 0},
                     queued_ids = {0, 0, 0};
    int privsep;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-start");
    if (qhome_chdir() == -1)
        log_die_errno(111, "fatal: unable to chdir to %s", qhome_dir());
    privsep = file_exists(PRIVSEP_FILE);
    if (privsep == -1)
        log_die_errno(111, "fatal: unable to look at %s/%s", qhome_dir(),
                      PRIVSEP_FILE);
    if (privsep) {
        if (geteuid() != 0)
            log_die(111, "fatal: %s is a root install (%s): start it as "
                         "root", qhome_dir(), PRIVSEP_FILE);
        lookup_ids(&send_ids, "qmails");
        lookup_ids(&clean_ids, "qmailq");
        lookup_ids(&queued_ids, "qmailq");
        lookup_ids(&rspawn_ids, "qmailr");
    }
    signal(SIGPIPE, SIG_IGN);
    reserve_low_fds();
    if (pipe(tolspawn) == -1 || pipe(fromlspawn) == -1 ||
        pipe(toclean) == -1 || pipe(fromclean) == -1 ||
        pipe(torspawn) == -1 || pipe(fromrspawn) == -1)
        log_die_errno(111, "fatal: pipe");
    all[0] = tolspawn[0]; all[1] = tolspawn[1];
    all[2] = fromlspawn[0]; all[3] = fromlspawn[1];
    all[4] = toclean[0]; all[5] = toclean[1];
    all[6] = fromclean[0]; all[7] = fromclean[1];
    all[8] = torspawn[0]; all[9] = torspawn[1];
    all[10] = fromrspawn[0]; all[11] = fromrspawn[1];

    start_child("qmail-lspawn", tolspawn[0], fromlspawn[1], all, 12,
                &root_ids);
    start_child("qmail-clean", toclean[0], fromclean[1], all, 12,
                &clean_ids);
    start_child("qmail-rspawn", torspawn[0], fromrspawn[1], all, 12,
                &rspawn_ids);
    close(tolspawn[0]);
    close(fromlspawn[1]);
    close(toclean[0]);
    close(fromclean[1]);
    close(torspawn[0]);
    close(fromrspawn[1]);

    /* fds 3..8 hold /dev/null; the pipe ends are all above 8 */
    move_fd(tolspawn[1], 3);
    move_fd(fromlspawn[0], 4);
    move_fd(toclean[1], 5);
    move_fd(fromclean[0], 6);
    move_fd(torspawn[1], 7);
    move_fd(fromrspawn[0], 8);

    /* qmail-queued: its child closes 3..8 and the write end, so only
     * qmail-send keeps that */
    if (pipe(toqueued) == -1)
        log_die_errno(111, "fatal: pipe");
    start_detached("qmail-queued", toqueued[0], 1, &toqueued[1], 1,
                   &queued_ids);
    close(toqueued[0]);

    prog_path(path, sizeof path, "qmail-send");
    become(&send_ids, "qmail-send");
    sendargv[0] = "qmail-send";
    sendargv[1] = 0;
    execv(path, sendargv);
    log_die_errno(111, "fatal: unable to run %s", path);
}
