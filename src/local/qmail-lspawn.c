/*
 * qmail-lspawn: run local deliveries for qmail-send, each as its user.
 *
 * Requests on fd 0, one per delivery, five NUL-terminated fields:
 *     <num> NUL <message id> NUL <sender> NUL <recipient> NUL <flags> NUL
 * flags: "r" when an earlier try may have delivered part of it, else "".
 * Replies on fd 1, in completion order:
 *     <num> NUL <status><text> NUL
 * status: 'K' delivered, 'Z' temporary failure (retry), 'D' permanent
 * failure (bounce).  Exits when fd 0 reaches end of file and every
 * delivery has been reported.
 *
 * For each request it finds the user (src/mail/mailuser.c), opens the queued
 * message, and starts qmail-local with the message on fd 0 positioned at
 * its first byte, under the user's uid and gid when running as root.
 * qmail-local's stdout and stderr become the reply text.
 *
 * Trust: requests come from qmail-send; the recipient is mail data and is
 * only used through mailuser's strict lookup and as argv for
 * qmail-local, never through a shell or as an unchecked path.  This
 * process keeps root in a root install, so it parses nothing but the
 * request records and the queue file header.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bio.h"
#include "control.h"
#include "dstr.h"
#include "log.h"
#include "mailuser.h"
#include "msgcopy.h"
#include "num.h"
#include "qhome.h"
#include "queue.h"
#include "sig.h"
#include "timeutil.h"

#define LSPAWN_MAX 1000        /* concurrent deliveries */
#define LSPAWN_REQ_MAX 4096    /* bytes per request field */
#define LSPAWN_REPORT_MAX 1000 /* bytes of qmail-local output kept */

struct delivery {
    int used;
    int64_t deadline_ms; /* monotonic: kill the delivery after this */
    int64_t exited_ms;   /* when qmail-local exited */
    int timed_out;
    unsigned long long num;
    pid_t pid;
    int outfd;       /* -1 once at end of file */
    int exited;
    int status;
    dstr out;
    char prefail[512]; /* set when it failed before qmail-local ran */
};

static struct delivery slots[LSPAWN_MAX];
static char bindir[PATH_MAX];
static dstr defaultdelivery = DSTR_ZERO;
static unsigned long long timeoutlocal = 86400;
/* Replies wait here until qmail-send reads them: writing them with a
 * blocking write could deadlock against qmail-send writing requests. */
static dstr outq = DSTR_ZERO;

static void reply(struct delivery *d, char status, const char *text,
                  size_t len)
{
    char num[NUM_FMT_ULONG];
    size_t i, n = num_fmt_ulong(num, d->num);

    if (dstr_catb(&outq, num, n + 1) == -1 ||
        dstr_catc(&outq, status) == -1)
        log_die(111, "fatal: out of memory");
    for (i = 0; i < len; i++)
        if (dstr_catc(&outq, text[i] ? text[i] : ' ') == -1)
            log_die(111, "fatal: out of memory");
    if (dstr_catc(&outq, 0) == -1)
        log_die(111, "fatal: out of memory");
}

/* Write what qmail-send will take now (fd 1 is non-blocking). */
static void flush_replies(void)
{
    while (outq.len) {
        ssize_t w = write(1, outq.s, outq.len);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            log_die_errno(111, "fatal: unable to write to qmail-send");
        }
        memmove(outq.s, outq.s + w, outq.len - (size_t)w);
        outq.len -= (size_t)w;
    }
}

static void finish(struct delivery *d)
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
    reply(d, status, text, len);
    dstr_free(&d->out);
    d->used = 0;
}

/* The child: everything here ends in exec or _exit. */
static _Noreturn void child(int outfd, const char *id, const char *sender,
                            const struct mailuser *u, int repeat)
{
    dstr path = DSTR_ZERO;
    char prog[PATH_MAX], lenarg[NUM_FMT_ULONG];
    uint64_t msglen;
    char *argv[17];
    int msgfd;

    /* our own process group, so a time-out kills what qmail-local runs */
    setpgid(0, 0);
    if (dup2(outfd, 1) == -1 || dup2(outfd, 2) == -1)
        _exit(111);
    close(outfd);
    if (!queue_id_valid(id) || queue_mess_path(&path, id) == -1) {
        log_line("bad message id");
        _exit(111);
    }
    /* the message only: the queue file would show the whole envelope */
    msgfd = msgcopy_open(path.s, &msglen);
    if (msgfd == -1) {
        log_errno("unable to read queued message %s", path.s);
        _exit(111);
    }
    if (msgfd != 0) {
        if (dup2(msgfd, 0) == -1)
            _exit(111);
        close(msgfd);
    }
    /* Enter the home while we may still traverse every directory above
     * it; qmail-local works relative to it. */
    if (chdir(u->home) == -1) {
        log_errno("unable to switch to home directory %s (#4.3.0)", u->home);
        _exit(111);
    }
    if (geteuid() == 0) {
        gid_t g = u->gid;
        if (setgroups(1, &g) == -1 || setgid(u->gid) == -1 ||
            setuid(u->uid) == -1) {
            log_errno("unable to switch to uid %ld", (long)u->uid);
            _exit(111);
        }
        if (u->uid != 0 && (setuid(0) == 0 || geteuid() == 0))
            _exit(111); /* root must not come back */
    }
    num_fmt_ulong(lenarg, msglen);
    if (snprintf(prog, sizeof prog, "%s/qmail-local", bindir) >=
        (int)sizeof prog)
        _exit(111);
    {
        int a = 0;
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
    }
    execv(prog, argv);
    log_errno("unable to run %s", prog);
    _exit(111);
}

static void start(unsigned long long num, const char *id, const char *sender,
                  const char *rcpt, int repeat)
{
    struct mailuser u;
    struct delivery *d = 0;
    int pi[2], i, r;

    for (i = 0; i < LSPAWN_MAX; i++)
        if (!slots[i].used) {
            d = &slots[i];
            break;
        }
    if (!d) {
        struct delivery tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.num = num;
        reply(&tmp, 'Z', "too many concurrent local deliveries", 36);
        return;
    }
    memset(d, 0, sizeof *d);
    d->used = 1;
    d->num = num;
    d->outfd = -1;

    r = mailuser_find(rcpt, &u, d->prefail, sizeof d->prefail);
    if (r != 0) {
        d->exited = 1;
        finish(d);
        return;
    }
    if (geteuid() == 0 && u.uid == 0) {
        /* nothing that reads mail runs as root */
        snprintf(d->prefail, sizeof d->prefail,
                 "refusing to deliver as root: the home of %s is owned by "
                 "root; give it to the user (#4.3.0)",
                 u.user);
        finish(d);
        return;
    }
    if (pipe2(pi, O_CLOEXEC) == -1) {
        snprintf(d->prefail, sizeof d->prefail, "unable to create pipe: %s",
                 strerror(errno));
        finish(d);
        return;
    }
    d->pid = fork();
    if (d->pid == -1) {
        snprintf(d->prefail, sizeof d->prefail, "unable to fork: %s",
                 strerror(errno));
        close(pi[0]);
        close(pi[1]);
        finish(d);
        return;
    }
    if (d->pid == 0) {
        close(pi[0]);
        child(pi[1], id, sender, &u, repeat);
    }
    close(pi[1]);
    fcntl(pi[0], F_SETFL, O_NONBLOCK);
    d->outfd = pi[0];
    d->deadline_ms = time_mono_ms() + (int64_t)timeoutlocal * 1000;
}

static void reap(void)
{
    int status, i;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (i = 0; i < LSPAWN_MAX; i++)
            if (slots[i].used && slots[i].pid == pid) {
                slots[i].exited = 1;
                slots[i].status = status;
                slots[i].exited_ms = time_mono_ms();
            }
}

static void read_output(struct delivery *d)
{
    char buf[1024];
    for (;;) {
        ssize_t r = read(d->outfd, buf, sizeof buf);
        if (r > 0) {
            size_t keep = d->out.len < LSPAWN_REPORT_MAX
                              ? LSPAWN_REPORT_MAX - d->out.len
                              : 0;
            if ((size_t)r < keep)
                keep = (size_t)r;
            if (keep && dstr_catb(&d->out, buf, keep) == -1)
                log_die(111, "fatal: out of memory");
            continue;
        }
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;
        close(d->outfd);
        d->outfd = -1;
        return;
    }
}

int main(int argc, char **argv)
{
    static struct pollfd pfd[LSPAWN_MAX + 3];
    static int pslot[LSPAWN_MAX + 3];
    char inbuf[8192];
    bio in;
    dstr f[5] = {DSTR_ZERO, DSTR_ZERO, DSTR_ZERO, DSTR_ZERO, DSTR_ZERO};
    int nf = 0, input_open = 1, sigfd, i;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-lspawn");
    signal(SIGPIPE, SIG_IGN);
    if (qhome_chdir() == -1)
        log_die_errno(111, "fatal: unable to chdir to %s", qhome_dir());
    if (snprintf(bindir, sizeof bindir, "%s", qhome_bindir()) >=
        (int)sizeof bindir)
        log_die(111, "fatal: bin directory path too long");
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
    sigfd = sig_selfpipe_init();
    if (sigfd == -1 || sig_selfpipe_catch(SIGCHLD) == -1)
        log_die_errno(111, "fatal: signal setup");
    if (chdir("queue") == -1)
        log_die_errno(111, "fatal: unable to chdir to queue");
    bio_init(&in, 0, inbuf, sizeof inbuf, 0);
    fcntl(0, F_SETFL, O_NONBLOCK);
    fcntl(1, F_SETFL, O_NONBLOCK);

    for (;;) {
        int n = 0, busy = 0;

        reap();
        for (i = 0; i < LSPAWN_MAX; i++)
            if (slots[i].used) {
                if (slots[i].exited && slots[i].outfd == -1)
                    finish(&slots[i]);
                else
                    busy = 1;
            }
        flush_replies();
        if (!input_open && !busy && outq.len == 0)
            _exit(0);
        {
            /* a delivery that runs too long (a hung program) is killed:
             * qmail-local and what it started share its process group */
            int64_t now = time_mono_ms();
            for (i = 0; i < LSPAWN_MAX; i++)
            {
                if (slots[i].used && !slots[i].exited &&
                    !slots[i].timed_out && slots[i].pid > 0 &&
                    now >= slots[i].deadline_ms) {
                    slots[i].timed_out = 1;
                    kill(-slots[i].pid, SIGKILL);
                    kill(slots[i].pid, SIGKILL);
                }
                /* qmail-local is gone but something it started in the
                 * background still holds the report pipe: stop waiting */
                if (slots[i].used && slots[i].exited &&
                    slots[i].outfd != -1 &&
                    now - slots[i].exited_ms > 5000) {
                    close(slots[i].outfd);
                    slots[i].outfd = -1;
                }
            }
        }

        pfd[n].fd = sigfd;
        pfd[n].events = POLLIN;
        pslot[n++] = -1;
        if (input_open) {
            pfd[n].fd = 0;
            pfd[n].events = POLLIN;
            pslot[n++] = -2;
        }
        if (outq.len) {
            pfd[n].fd = 1;
            pfd[n].events = POLLOUT;
            pslot[n++] = -3;
        }
        for (i = 0; i < LSPAWN_MAX; i++)
            if (slots[i].used && slots[i].outfd != -1) {
                pfd[n].fd = slots[i].outfd;
                pfd[n].events = POLLIN;
                pslot[n++] = i;
            }
        /* a buffered request needs no poll: handle it right away */
        if (in.pos == in.len && poll(pfd, (nfds_t)n, 1000) == -1) {
            if (errno != EINTR)
                log_die_errno(111, "fatal: poll");
            continue;
        }
        while (sig_selfpipe_read())
            ;
        for (i = 0; i < n; i++)
            if (pslot[i] >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                read_output(&slots[pslot[i]]);
        /* requests: read as many complete fields as are available */
        while (input_open) {
            int toolong = 0, r;
            if (in.pos == in.len) {
                long got = bio_fill(&in);
                if (got == -1 && errno == EAGAIN)
                    break;
                if (got <= 0) {
                    input_open = 0;
                    break;
                }
            }
            r = bio_getsep(&in, &f[nf], 0, LSPAWN_REQ_MAX, &toolong);
            if (f[nf].len > LSPAWN_REQ_MAX)
                log_die(111, "fatal: request field too long");
            if (r == -1 && errno == EAGAIN)
                break;
            if (r <= 0) {
                input_open = 0;
                break;
            }
            if (f[nf].s[f[nf].len - 1] != 0)
                continue; /* partial field: rest comes with the next read */
            if (toolong)
                log_die(111, "fatal: request field too long");
            if (++nf == 5) {
                unsigned long long num;
                if (num_scan_ulong_str(f[0].s, &num) == -1)
                    log_die(111, "fatal: bad request from qmail-send");
                start(num, f[1].s, f[2].s, f[3].s, f[4].s[0] == 'r');
                for (nf = 0; nf < 5; nf++)
                    f[nf].len = 0;
                nf = 0;
            }
        }
    }
}
