/*
 * qmail-checkpw: a checkpassword program for the instance's POP3 users
 * and, in a root install, the system's accounts.
 *
 *   qmail-checkpw subprogram [args...]
 *
 * The checkpassword interface: read "NAME\0PASSWORD\0TIMESTAMP\0" from
 * descriptor 3 (checkpw_input.h).  If the password is right: set $USER,
 * $HOME (and $SHELL for system accounts), enter the home directory,
 * become the mailbox owner (when running as root), and run subprogram
 * (normally "qmail-pop3d Maildir") with the rest of the environment and
 * descriptors as they are.  Otherwise exit:
 *
 *   1    bad name or password (unknown names take the same path: a dummy
 *        yescrypt hash is computed for them; a user whose hash has
 *        another method or cost answers in another time, which
 *        qmail-popup hides by answering at a fixed time after PASS)
 *   2    misuse: no subprogram, descriptor 3 missing or malformed
 *   111  temporary problem (password file unreadable, cannot switch user)
 *
 * Who the users are: checkpw_user.h.  How passwords are checked:
 * checkpw_auth.h.  A mailbox is never served as root or with root's
 * group: a home owned by uid 0 or (for the instance's users, whose group
 * is the home's) by gid 0, or a system account with uid 0 or gid 0, is
 * refused.  When not running as root, only mailboxes owned by the user it
 * runs as can be served.
 *
 * A relative subprogram path is taken relative to the directory this was
 * started in, not the home directory.
 *
 * Trust: the input on fd 3 comes from a network client through the
 * caller.  The password is wiped from memory before the exec; until then
 * core dumps are off and the process is not dumpable.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpw_auth.h"
#include "checkpw_input.h"
#include "checkpw_user.h"
#include "log.h"
#include "qhome.h"
#include "sandbox.h"

#define INPUT_TIMEOUT 30

static struct checkpw_input input;
static struct checkpw_user user;

static _Noreturn void done(int code)
{
    checkpw_input_wipe(&input);
    explicit_bzero(&user, sizeof user);
    exit(code);
}

/* setgroups, setgid, setuid, each checked; then make sure root cannot come
 * back. */
static int drop_to(uid_t uid, gid_t gid)
{
    if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1)
        return -1;
    if (getuid() != uid || geteuid() != uid || getgid() != gid ||
        getegid() != gid) {
        errno = EPERM;
        return -1;
    }
    if (setuid(0) != -1 || seteuid(0) != -1) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct rlimit nocore = {0, 0};
    char qhome[PATH_MAX], prog[PATH_MAX], why[PATH_MAX + 200];
    const char *name;
    struct stat st;
    int root = geteuid() == 0, ok, homefd;

    log_init("qmail-checkpw");
    if (argc < 2) {
        log_line("usage: qmail-checkpw subprogram [args...]");
        return 2;
    }
    /* no core file or debugger shows the password */
    if (setrlimit(RLIMIT_CORE, &nocore) == -1 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
        log_errno("unable to turn core dumps off");
        return 111;
    }
    if (checkpw_input_read(3, INPUT_TIMEOUT, &input) == -1) {
        if (errno == EBADF) {
            log_line("descriptor 3 is not open: run me from a "
                     "checkpassword caller such as qmail-popup");
            done(2);
        }
        if (errno == EMSGSIZE) {
            log_line("more than %d octets on descriptor 3",
                     CHECKPW_INPUT_MAX);
            done(2);
        }
        log_errno("unable to read descriptor 3");
        done(111);
    }
    if (checkpw_input_parse(&input) == -1) {
        log_line("descriptor 3 does not hold NAME, PASSWORD and TIMESTAMP, "
                 "each ended by a NUL");
        done(2);
    }
    name = input.user;
    if (!realpath(qhome_dir(), qhome)) {
        log_errno("unable to find the instance %s", qhome_dir());
        done(111);
    }

    switch (checkpw_user_find(qhome, name, input.userlen, root, &user, why,
                              sizeof why)) {
    case CHECKPW_USER_TEMP:
        log_line("%s", why);
        done(111);
    case CHECKPW_USER_UNKNOWN:
        checkpw_dummy(input.pass);
        done(1);
    case CHECKPW_USER_NOLOGIN:
        checkpw_dummy(input.pass);
        log_line("login refused: %s", why);
        done(1);
    case CHECKPW_USER_OK:
        break;
    }
    ok = checkpw_verify(input.pass, user.hash);
    checkpw_input_wipe(&input);
    if (ok == -1) {
        log_line("out of memory");
        done(111);
    }
    if (!ok)
        done(1);
    if (user.expired) {
        log_line("login refused: the account %s has expired", user.name);
        done(1);
    }

    /* the program, found from where we were started */
    if (strchr(argv[1], '/') && argv[1][0] != '/') {
        char cwd[PATH_MAX];
        int n;
        if (!getcwd(cwd, sizeof cwd)) {
            log_errno("unable to find the current directory");
            done(111);
        }
        n = snprintf(prog, sizeof prog, "%s/%s", cwd, argv[1]);
        if (n < 0 || (size_t)n >= sizeof prog) {
            log_line("path of %s too long", argv[1]);
            done(111);
        }
    } else {
        snprintf(prog, sizeof prog, "%s", argv[1]);
    }

    /* enter the home while every directory above it can still be
     * traversed, then become its owner.  The directory entered is the one
     * whose owner we switch to: an instance home that was replaced by a
     * symbolic link, or changed hands, since it was looked up is refused. */
    homefd = open(user.home, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                                 (user.system ? 0 : O_NOFOLLOW));
    if (homefd == -1 || fstat(homefd, &st) == -1 || fchdir(homefd) == -1) {
        log_errno("user %s: unable to enter home %s", user.name, user.home);
        done(111);
    }
    close(homefd);
    /* an instance user's group is the home's: it must not change either */
    if (st.st_uid != user.uid || (!user.system && st.st_gid != user.gid)) {
        log_line("user %s: home %s changed owner meanwhile", user.name,
                 user.home);
        done(111);
    }
    if (root) {
        if (user.uid == 0) {
            log_line("user %s: home %s belongs to root: refusing to serve "
                     "a mailbox as root", user.name, user.home);
            done(111);
        }
        if (user.gid == 0) {
            log_line("user %s: home %s has group root (gid 0): refusing to "
                     "serve a mailbox with root's group", user.name,
                     user.home);
            done(111);
        }
        /* nothing the mailbox owner runs may regain a capability */
        if (sandbox_drop_bounding() == -1 ||
            drop_to(user.uid, user.gid) == -1) {
            log_errno("user %s: unable to switch to uid %ld gid %ld",
                      user.name, (long)user.uid, (long)user.gid);
            done(111);
        }
    } else if (user.uid != geteuid()) {
        log_line("user %s: the mailbox belongs to uid %ld; without root "
                 "qmail-checkpw can only serve uid %ld", user.name,
                 (long)user.uid, (long)geteuid());
        done(111);
    }
    if (setenv("USER", user.name, 1) == -1 ||
        setenv("HOME", user.home, 1) == -1 ||
        (user.system ? setenv("SHELL", user.shell, 1)
                     : unsetenv("SHELL")) == -1) {
        log_errno("unable to set the environment");
        done(111);
    }
    explicit_bzero(user.hash, sizeof user.hash);
    execvp(prog, argv + 1);
    log_errno("unable to run %s", prog);
    done(111);
}
