/*
 * qmail-rspawn: run remote deliveries for qmail-send.
 *
 * Requests on fd 0, five NUL-terminated fields:
 *     <num> NUL <message id> NUL <sender> NUL <domain> NUL <recipients> NUL
 * where recipients are the addresses at domain, separated by '\n' (an
 * address never holds a control character: qmail-queue refuses them).
 * Replies on fd 1, in completion order:
 *     <num> NUL then, for each recipient in order, <status><text> NUL
 * status: 'K' delivered, 'Z' temporary failure, 'D' permanent failure.
 * The event loop is src/mail/spawn.c's.
 *
 * Each delivery runs qmail-remote DOMAIN SENDER RCPT... (qmail-remote(8))
 * with a sealed copy of the message on fd 0, as the unprivileged qmailr
 * (or nobody) when running as root.  qmail-remote reports one record per
 * recipient ("r" + K/Z/D + text) and one for the message (K/Z/D + text);
 * a recipient is delivered only when both its record and the message's
 * say K.  A missing or garbled report makes every recipient temporary.
 *
 * Trust: qmail-remote talks to strangers; its report is bounded and only
 * copied into replies, never interpreted beyond the status letters.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dstr.h"
#include "log.h"
#include "msgcopy.h"
#include "num.h"
#include "priv.h"
#include "qhome.h"
#include "queue.h"
#include "spawn.h"

#define RSPAWN_RCPTS_MAX 1000
#define RECORD_MAX 2000

static char bindir[PATH_MAX];

static void record(dstr *out, char status, const char *text, size_t len)
{
    size_t i;
    if (len > RECORD_MAX)
        len = RECORD_MAX;
    if (dstr_catc(out, status) == -1)
        log_die(111, "fatal: out of memory");
    for (i = 0; i < len; i++)
        if (dstr_catc(out, text[i] && text[i] != '\n' ? text[i] : ' ') == -1)
            log_die(111, "fatal: out of memory");
    if (dstr_catc(out, 0) == -1)
        log_die(111, "fatal: out of memory");
}

static void all(const spawn_job *j, dstr *out, char status, const char *text)
{
    unsigned long i;
    for (i = 0; i < j->count; i++)
        record(out, status, text, strlen(text));
}

static void reply(const spawn_job *j, dstr *out)
{
    const char *rec[RSPAWN_RCPTS_MAX + 1];
    size_t nrec = 0, pos = 0;
    const char *final;
    char buf[600];
    unsigned long i;

    if (j->prefail[0]) {
        if (j->prefail[0] == '!')
            all(j, out, 'D', j->prefail + 1);
        else
            all(j, out, 'Z', j->prefail);
        return;
    }
    if (j->timed_out) {
        all(j, out, 'Z', "qmail-remote took too long; killed (#4.4.1)");
        return;
    }
    /* split the report into NUL-terminated records */
    while (pos < j->out.len && nrec < j->count + 1) {
        const char *z = memchr(j->out.s + pos, 0, j->out.len - pos);
        if (!z)
            break;
        rec[nrec++] = j->out.s + pos;
        pos = (size_t)(z - j->out.s) + 1;
    }
    if (!WIFEXITED(j->status) || WEXITSTATUS(j->status) != 0 ||
        nrec != j->count + 1) {
        /* no usable report: everything waits for another try */
        const char *why = "qmail-remote gave no report (#4.3.0)";
        if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == 111 &&
            j->out.len && !memchr(j->out.s, 0, j->out.len)) {
            /* its own error line, e.g. an unreadable control file */
            size_t l = j->out.len;
            while (l && j->out.s[l - 1] == '\n')
                l--;
            if (l > sizeof buf - 1)
                l = sizeof buf - 1;
            memcpy(buf, j->out.s, l);
            buf[l] = 0;
            why = buf;
        } else if (WIFSIGNALED(j->status)) {
            snprintf(buf, sizeof buf, "qmail-remote crashed (signal %d) "
                     "(#4.3.0)", WTERMSIG(j->status));
            why = buf;
        }
        all(j, out, 'Z', why);
        return;
    }
    final = rec[j->count];
    for (i = 0; i < j->count; i++) {
        const char *r = rec[i];
        char st = r[0] == 'r' ? r[1] : 0;
        if (st != 'K' && st != 'Z' && st != 'D') {
            record(out, 'Z', "garbled report from qmail-remote (#4.3.0)",
                   41);
        } else if (st == 'K' && final[0] != 'K') {
            /* the recipient was accepted, the message was not */
            char fst = final[0] == 'D' ? 'D' : 'Z';
            record(out, fst, final + (final[0] ? 1 : 0),
                   strlen(final + (final[0] ? 1 : 0)));
        } else if (st == 'K') {
            record(out, 'K', final + 1, strlen(final + 1));
        } else {
            record(out, st, r + 2, strlen(r + 2));
        }
    }
}

/* The unprivileged account qmail-remote runs as when we are root. */
static int remote_ids(uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam("qmailr");
    if (!pw)
        pw = getpwnam("nobody");
    if (!pw || pw->pw_uid == 0)
        return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* fields: num, message id, sender, domain, recipients ('\n'-separated) */
static void start(spawn_job *j, char **f)
{
    char *argv[RSPAWN_RCPTS_MAX + 4];
    char *p, prog[PATH_MAX];
    unsigned long n = 0;
    uid_t uid = 0;
    gid_t gid = 0;

    argv[0] = "qmail-remote";
    argv[1] = f[3];
    argv[2] = f[2];
    for (p = f[4]; *p && n < RSPAWN_RCPTS_MAX;) {
        char *nl = strchr(p, '\n');
        argv[3 + n++] = p;
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    argv[3 + n] = 0;
    j->count = n;
    if (n == 0) {
        snprintf(j->prefail, sizeof j->prefail, "no recipients in request");
        return;
    }
    if (geteuid() == 0 && remote_ids(&uid, &gid) == -1) {
        snprintf(j->prefail, sizeof j->prefail,
                 "no unprivileged account (qmailr or nobody) for "
                 "qmail-remote (#4.3.0)");
        return;
    }
    if (spawn_fork(j) != 0)
        return;
    /* the child */
    if (msgcopy_stdin(f[1], &(uint64_t){0}) == -1)
        _exit(111);
    if (chdir("..") == -1) /* qmail-remote works in $QMAILHOME */
        _exit(111);
    if (geteuid() == 0 && priv_drop(uid, gid) == -1) {
        log_errno("unable to drop privileges for qmail-remote");
        _exit(111);
    }
    if (snprintf(prog, sizeof prog, "%s/qmail-remote", bindir) >=
        (int)sizeof prog)
        _exit(111);
    execv(prog, argv);
    log_errno("unable to run %s", prog);
    _exit(111);
}

int main(int argc, char **argv)
{
    static const struct spawn_ops ops = {
        (RSPAWN_RCPTS_MAX + 1) * (QUEUE_ADDR_MAX + 1), /* a field */
        (RSPAWN_RCPTS_MAX + 1) * (RECORD_MAX + 3),     /* a report */
        86400, 0, start, reply};

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-rspawn");
    if (qhome_chdir() == -1)
        log_die_errno(111, "fatal: unable to chdir to %s", qhome_dir());
    if (snprintf(bindir, sizeof bindir, "%s", qhome_bindir()) >=
        (int)sizeof bindir)
        log_die(111, "fatal: bin directory path too long");
    if (chdir("queue") == -1)
        log_die_errno(111, "fatal: unable to chdir to queue");
    spawn_main(&ops);
}
