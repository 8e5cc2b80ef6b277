/*
 * qmail-lspawn: run local deliveries for qmail-send, each as its user.
 *
 * Requests on fd 0, one per delivery, five NUL-terminated fields:
 *     <num> NUL <message id> NUL <sender> NUL <recipient> NUL <flags> NUL
 * flags: "r" when an earlier try may have delivered part of it, else "".
 * Replies on fd 1, in completion order:
 *     <num> NUL <status><text> NUL
 * status: 'K' delivered, 'Z' temporary failure (retry), 'D' permanent
 * failure (bounce).  The event loop, time limits and non-blocking replies
 * are src/mail/spawn.c's.
 *
 * For each request it finds the user (src/mail/mailuser.c) and runs
 * qmail-local's delivery (local_main.h) in a forked child in the user's home, under the user's uid and gid when
 * running as root (never as root itself), with a sealed copy of the
 * message (src/mail/msgcopy.c) on fd 0.  qmail-local's output is the text.
 *
 * Trust: requests come from qmail-send; the recipient is mail data and is
 * only used through mailuser's strict lookup and as argv for qmail-local,
 * never through a shell or as an unchecked path.  This process keeps root
 * in a root install, so it parses nothing but the request records and the
 * queue file header.
 */
#include <errno.h>
#include <signal.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "dstr.h"
#include "local_main.h"
#include "log.h"
#include "mailuser.h"
#include "msgcopy.h"
#include "num.h"
#include "priv.h"
#include "qhome.h"
#include "queue.h"
#include "spawn.h"

static dstr defaultdelivery = DSTR_ZERO;
static unsigned long long timeoutlocal = 86400;

static void text_record(dstr *out, char status, const char *text, size_t len)
{
    size_t i;
    if (dstr_catc(out, status) == -1)
        log_die(111, "fatal: out of memory");
    for (i = 0; i < len; i++)
        if (dstr_catc(out, text[i] ? text[i] : ' ') == -1)
            log_die(111, "fatal: out of memory");
    if (dstr_catc(out, 0) == -1)
        log_die(111, "fatal: out of memory");
}

static void reply(const spawn_job *d, dstr *out)
{
    char buf[600];
    const char *text = d->out.s ? d->out.s : "";
    size_t len = d->out.len;
    char status;

    /* strip trailing newlines from the report */
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (d->prefail[0]) {
        status = 'Z';
        text = d->prefail;
        len = strlen(text);
        if (text[0] == '!') { /* permanent */
            status = 'D';
            text++;
            len--;
        }
    } else if (d->timed_out) {
        status = 'Z';
        snprintf(buf, sizeof buf,
                 "delivery took longer than %llu seconds (control/"
                 "timeoutlocal); killed (#4.3.0)",
                 timeoutlocal);
        text = buf;
        len = strlen(buf);
    } else if (WIFEXITED(d->status)) {
        switch (WEXITSTATUS(d->status)) {
        case 0: status = 'K'; break;
        case 100: status = 'D'; break;
        case 111: status = 'Z'; break;
        default:
            status = 'Z';
            if (len == 0) {
                snprintf(buf, sizeof buf, "qmail-local exited %d",
                         WEXITSTATUS(d->status));
                text = buf;
                len = strlen(buf);
            }
        }
    } else {
        status = 'Z';
        snprintf(buf, sizeof buf, "qmail-local crashed (signal %d)",
                 WIFSIGNALED(d->status) ? WTERMSIG(d->status) : 0);
        text = buf;
        len = strlen(buf);
    }
    if (len == 0 && status == 'K') {
        text = "delivered";
        len = 9;
    }
    text_record(out, status, text, len);
}

/* The child: everything here ends in local_main() or _exit.  It runs the
 * delivery itself (local_main.h) instead of exec'ing qmail-local, which
 * saves the exec, the dynamic linking and the page faults of a new image
 * (docs/PERFORMANCE.md).  It must hold nothing but its own delivery when
 * it starts reading the message: every descriptor but 0, 1 and 2 is
 * closed (other deliveries' report pipes, qmail-send's pipes are 0 and
 * 1, replaced below), the signals are reset as exec would, and it becomes
 * the user first.  A child whose uid changed is not dumpable, so the user
 * cannot read what this process's memory held before (SECURITY.md). */
static _Noreturn void child(const char *id, const char *sender,
                            const struct mailuser *u, int repeat)
{
    char lenarg[NUM_FMT_ULONG];
    uint64_t msglen;
    char *argv[17];
    int a = 0, sig;
    sigset_t none;

    /* only what exec would have left: fds 0, 1 (the report pipe) and 2 */
    if (close_range(3, ~0U, 0) == -1) {
        int fd;
        for (fd = 3; fd < 1024; fd++)
            close(fd);
    }
    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    prctl(PR_SET_NAME, "qmail-local"); /* what ps and top show */
    /* the message only: the queue file would show the whole envelope */
    if (msgcopy_stdin(id, &msglen) == -1)
        _exit(111);
    /* Enter the home while we may still traverse every directory above
     * it; qmail-local works relative to it. */
    if (chdir(u->home) == -1) {
        log_errno("unable to switch to home directory %s (#4.3.0)", u->home);
        _exit(111);
    }
    if (geteuid() == 0 && priv_drop(u->uid, u->gid) == -1) {
        log_errno("unable to switch to uid %ld", (long)u->uid);
        _exit(111);
    }
    num_fmt_ulong(lenarg, msglen);
    argv[a++] = "qmail-local";
    if (repeat)
        argv[a++] = "-r";
    argv[a++] = "-i";
    argv[a++] = (char *)id;
    argv[a++] = "-l";
    argv[a++] = lenarg;
    argv[a++] = "--";
    argv[a++] = (char *)u->user;
    argv[a++] = (char *)u->home;
    argv[a++] = (char *)u->local;
    argv[a++] = (char *)u->dash;
    argv[a++] = (char *)u->ext;
    argv[a++] = (char *)u->domain;
    argv[a++] = (char *)sender;
    argv[a++] = defaultdelivery.s;
    argv[a] = 0;
    local_main(a, argv);
}

/* fields: num, message id, sender, recipient, flags */
static void start(spawn_job *d, char **f)
{
    struct mailuser u;

    if (mailuser_find(f[3], &u, d->prefail, sizeof d->prefail) != 0)
        return;
    if (geteuid() == 0 && u.uid == 0) {
        /* nothing that reads mail runs as root */
        snprintf(d->prefail, sizeof d->prefail,
                 "refusing to deliver as root: the home of %s is owned by "
                 "root; give it to the user (#4.3.0)",
                 u.user);
        return;
    }
    if (spawn_fork(d) == 0)
        child(f[1], f[2], &u, f[4][0] == 'r');
}

int main(int argc, char **argv)
{
    static const struct spawn_ops ops = {4096, 1000, 0, 1, start, reply};
    struct spawn_ops o = ops;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-lspawn");
    if (qhome_chdir() == -1)
        log_die_errno(111, "fatal: unable to chdir to %s", qhome_dir());
    if (mailuser_init(geteuid() == 0) == -1)
        log_die_errno(111, "fatal: unable to read the users configuration");
    if (control_readline("control/defaultdelivery", &defaultdelivery,
                         "./Maildir/") == -1 ||
        dstr_cat0(&defaultdelivery) == -1)
        log_die_errno(111, "fatal: unable to read control/defaultdelivery");
    if (control_readulong("control/timeoutlocal", &timeoutlocal, 86400) ==
            -1 ||
        timeoutlocal == 0 || timeoutlocal > 100000000)
        log_die(111, "fatal: control/timeoutlocal must be a number of "
                     "seconds from 1 to 100000000");
    if (chdir("queue") == -1)
        log_die_errno(111, "fatal: unable to chdir to queue");
    tzset(); /* loaded once here, not again in every delivery child */
    o.timeout = timeoutlocal;
    spawn_main(&o);
}
