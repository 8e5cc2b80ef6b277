/*
 * local_main.c: qmail-local's work as a function (local_main.h), run by
 * the qmail-local program and, without an exec, by qmail-lspawn's
 * delivery children.  The description below is qmail-local's.
 *
 * qmail-local: deliver one message to one local recipient, as that user.
 *
 *   qmail-local [-r] [-i MSGID] -l LEN -- user home local dash ext domain
 *               sender defaultdelivery
 *
 * qmail-lspawn starts it in home (which must belong to the user and not
 * be writable by others), with the message, LEN bytes, on fd 0: a sealed
 * copy that holds nothing of the envelope.  The recipient is
 * local@domain.  The .qmail file for dash+ext (dotqmail.h: .qmail-EXT and
 * the -default chain) says what to do, one instruction per line
 * (dot-qmail(5)):
 *
 *   # comment      |command (program)      /path or ./path (mbox)
 *   ./Maildir/ (ends in '/': Maildir)      &address or address (forward)
 *
 * Without a .qmail file (or with an empty one) an address without
 * extension gets defaultdelivery; one with an extension does not exist.
 * MSGID (the queue id) makes Maildir file names the same on a repeated
 * delivery, so a delivery repeated after a crash or a later line's failure
 * does not leave two copies in one Maildir; -r says this may be such a
 * repeat (look in cur/ too).
 *
 * Writes one line saying what happened and exits 0 (delivered), 100
 * (permanent failure: bounce) or 111 (temporary failure: retry).
 *
 * Trust: runs as the recipient.  The message is from anyone and is only
 * copied, never interpreted, except for the Delivered-To loop check.  The
 * .qmail file is the user's own; it is refused (temporary failure) if it
 * belongs to someone else or others could write it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dotqmail.h"
#include "dstr.h"
#include "env.h"
#include "file.h"
#include "local_deliver.h"
#include "local_env.h"
#include "local_main.h"
#include "local_msg.h"
#include "log.h"
#include "num.h"
#include "queue.h"

#define DOTQMAIL_MAX (1024 * 1024)
#define FORWARDS_MAX 1000

static _Noreturn void done(int code, const char *fmt, const char *a,
                           const char *b)
{
    char line[1200];
    int n = snprintf(line, sizeof line, fmt, a ? a : "", b ? b : "");
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(1, line, (size_t)n) == -1) {
        /* qmail-lspawn is gone; the exit code still tells */
    }
    _exit(code);
}

static void nomem(void) { done(111, "out of memory (#4.3.0)", 0, 0); }

static void usage(void)
{
    done(111, "qmail-local: usage: qmail-local [-r] [-i msgid] -l len -- "
              "user home local dash ext domain sender defaultdelivery%s%s",
         0, 0);
}

/* Maildir name for line n that stays the same for this message, this
 * recipient and this line: "SEC.MUSECPPIDQhashLn" from the queue id. */
static int stable_name(dstr *out, const char *msgid, const char *rcpt,
                       unsigned n)
{
    unsigned long long sec, usec, pid;
    size_t a, b, c, len = strlen(msgid);
    uint32_t h = 2166136261u;
    const char *p;

    a = num_scan_prefix(msgid, len, &sec);
    if (!a || msgid[a] != '.')
        return -1;
    b = num_scan_prefix(msgid + a + 1, len - a - 1, &usec);
    if (!b || msgid[a + 1 + b] != '.')
        return -1;
    c = num_scan_prefix(msgid + a + b + 2, len - a - b - 2, &pid);
    if (!c || a + b + c + 2 != len)
        return -1;
    for (p = rcpt; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    out->len = 0;
    if (dstr_catf(out, "%llu.M%06lluP%lluQ%08xL%u", sec, usec, pid,
                  (unsigned)h, n) == -1 ||
        dstr_cat0(out) == -1)
        return -1;
    return 0;
}

/* Home and .qmail must not be writable by anyone but the user (qmail's
 * rule); a sticky home means the user is editing the .qmail files. */
static void check_home(const char *home)
{
    struct stat st;

    if (stat(".", &st) == -1)
        done(111, "unable to look at home directory %s: %s (#4.3.0)", home,
             strerror(errno));
    if (st.st_uid != getuid())
        done(111, "home directory %s is not owned by the user (#4.3.0)",
             home, 0);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        done(111, "home directory %s is writable by others (#4.7.0)", home,
             0);
    if (st.st_mode & S_ISVTX)
        done(111, "home directory %s is sticky: the user is editing the "
                  ".qmail files (#4.2.1)",
             home, 0);
}

/* Read the controlling .qmail file into text; 0 when there is none. */
static int read_dotqmail(const char *dash, const char *ext, dstr *text,
                         dstr *deflt, dstr *name)
{
    struct stat st;
    int r, fd;

    r = dotqmail_find(0, dash, ext, name, deflt);
    if (r == -1)
        done(111, "unable to look for the .qmail file: %s (#4.3.0)",
             strerror(errno), 0);
    if (r == 0)
        return 0;
    fd = open(name->s, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1)
        done(111, "unable to open %s: %s (#4.3.0)", name->s,
             strerror(errno));
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
        done(111, "%s is not a plain file (#4.3.0)", name->s, 0);
    /* someone else's file would choose where the user's mail goes, and
     * run programs as the user */
    if (st.st_uid != getuid())
        done(111, "%s is not owned by the user; not following it "
                  "(#4.7.0)", name->s, 0);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        done(111, "%s is writable by others (#4.7.0)", name->s, 0);
    if (st.st_size > DOTQMAIL_MAX)
        done(111, "%s is too large (#4.3.0)", name->s, 0);
    close(fd);
    if (file_read(name->s, text, DOTQMAIL_MAX) == -1)
        done(111, "unable to read %s: %s (#4.3.0)", name->s,
             strerror(errno));
    return 1;
}

_Noreturn void local_main(int argc, char **argv)
{
    unsigned long long len = 0;
    const char *msgid = 0;
    int maybe_repeat = 0, i = 1, have_len = 0;
    struct local_ctx c;
    dstr dt = DSTR_ZERO, rp = DSTR_ZERO, uf = DSTR_ZERO, prefix = DSTR_ZERO;
    dstr text = DSTR_ZERO, deflt = DSTR_ZERO, name = DSTR_ZERO;
    dstr newsender = DSTR_ZERO, fwd = DSTR_ZERO, uniq = DSTR_ZERO;
    dstr report = DSTR_ZERO;
    envbuild env = ENVBUILD_ZERO;
    unsigned files = 0, forwards = 0, programs = 0, lineno = 0;
    char why[1024], date[64];
    size_t pos;
    time_t now = time(0);
    struct tm tm;
    int r, perm, env_ready = 0, stop = 0;

    log_init("qmail-local");
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "-r") == 0) {
            maybe_repeat = 1;
        } else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
            msgid = argv[++i];
        } else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) {
            if (num_scan_ulong_str(argv[++i], &len) == -1)
                usage();
            have_len = 1;
        } else {
            usage();
        }
    }
    if (!have_len || argc - i != 8)
        usage();
    memset(&c, 0, sizeof c);
    c.user = argv[i];
    c.home = argv[i + 1];
    c.local = argv[i + 2];
    c.dash = argv[i + 3];
    c.ext = argv[i + 4];
    c.domain = argv[i + 5];
    c.sender = argv[i + 6];

    check_home(c.home);
    if (local_msg_init(0, len) == -1)
        done(111, "unable to read the queued message: %s (#4.3.0)",
             strerror(errno), 0);

    if (dstr_catf(&dt, "Delivered-To: %s@%s\n", c.local, c.domain) == -1 ||
        dstr_cat0(&dt) == -1 ||
        dstr_catf(&rp, "Return-Path: <%s>\n", c.sender) == -1 ||
        dstr_cat0(&rp) == -1)
        nomem();
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    if (dstr_catf(&uf, "From %s %s\n", *c.sender ? c.sender : "MAILER-DAEMON",
                  date) == -1 ||
        dstr_cat0(&uf) == -1 || dstr_cat(&prefix, &rp) == -1 ||
        dstr_cat(&prefix, &dt) == -1 || dstr_cat0(&prefix) == -1)
        nomem();
    c.dtline = dt.s;
    c.rpline = rp.s;
    c.ufline = uf.s;

    /* a message that already went through this address is looping */
    {
        dstr addr = DSTR_ZERO;
        if (dstr_catf(&addr, "%s@%s", c.local, c.domain) == -1 ||
            dstr_cat0(&addr) == -1)
            nomem();
        r = local_msg_has_dtline(addr.s);
        if (r == -1)
            done(111, "unable to read the queued message: %s (#4.3.0)",
                 strerror(errno), 0);
        if (r == 1)
            done(100, "message is looping: it already has Delivered-To: %s "
                      "(#5.4.6)",
                 addr.s, 0);
        dstr_free(&addr);
    }

    r = read_dotqmail(c.dash, c.ext, &text, &deflt, &name);
    if (r == 0 && c.ext[0])
        done(100, "no mailbox here by that name: %s (#5.1.1)", c.local, 0);
    if (r == 0 || text.len == 0) {
        /* no .qmail (or an empty one): the default delivery */
        text.len = 0;
        if (dstr_cats(&text, argv[i + 7]) == -1)
            nomem();
        name.len = 0;
        if (dstr_cats(&name, "defaultdelivery") == -1 || dstr_cat0(&name) == -1)
            nomem();
    }
    /* DEFAULT is set only when a -default file matched */
    c.deflt = r == 1 && name.len >= 8 &&
                      strcmp(name.s + name.len - 7, "default") == 0
                  ? deflt.s
                  : 0;

    /* NEWSENDER: the sender, or local-owner@domain for a list with an
     * owner file (.qmail-EXT-owner) */
    if (dstr_cats(&newsender, c.sender) == -1)
        nomem();
    if (*c.sender && *c.ext) {
        dstr owner = DSTR_ZERO, oext = DSTR_ZERO;
        struct stat st;
        if (dstr_catf(&oext, "%s-owner", c.ext) == -1 ||
            dstr_cat0(&oext) == -1 ||
            dotqmail_name(&owner, c.dash, oext.s) == -1)
            nomem();
        if (stat(owner.s, &st) == 0) {
            newsender.len = 0;
            if (dstr_catf(&newsender, "%s-owner@%s", c.local, c.domain) == -1)
                nomem();
        }
        dstr_free(&owner);
        dstr_free(&oext);
    }
    if (dstr_cat0(&newsender) == -1)
        nomem();
    c.newsender = newsender.s;

    for (pos = 0; pos < text.len && !stop;) {
        char *l = text.s + pos;
        char *nl = memchr(l, '\n', text.len - pos);
        size_t ll = nl ? (size_t)(nl - l) : text.len - pos;

        pos += ll + (nl ? 1 : 0);
        lineno++;
        while (ll && (l[ll - 1] == ' ' || l[ll - 1] == '\t' ||
                      l[ll - 1] == '\r'))
            ll--;
        if (ll == 0 || l[0] == '#')
            continue;
        l[ll] = 0; /* the line ended in '\n' or trailing space, or is last */
        if (memchr(l, 0, ll))
            done(111, "%s has a NUL byte on line %s (#4.3.5)", name.s, 0);
        if (l[0] == '|') {
            int res;
            if (!env_ready) {
                if (local_env_build(&env, &c) == -1)
                    nomem();
                env_ready = 1;
            }
            programs++;
            if (local_program(l + 1, env.vec, why, sizeof why, &res) == 0) {
                if (res == LOCAL_PROG_STOP)
                    stop = 1;
                continue;
            }
            done(res == LOCAL_PROG_PERM ? 100 : 111, "%s", why, 0);
        } else if (l[0] == '.' || l[0] == '/') {
            files++;
            if (l[ll - 1] == '/') {
                const char *u = 0;
                l[ll - 1] = 0;
                if (msgid) {
                    dstr rc = DSTR_ZERO;
                    if (dstr_catf(&rc, "%s@%s", c.local, c.domain) == -1 ||
                        dstr_cat0(&rc) == -1)
                        nomem();
                    if (stable_name(&uniq, msgid, rc.s, lineno) == 0)
                        u = uniq.s;
                    dstr_free(&rc);
                }
                r = local_maildir(ll > 1 ? l : "/", prefix.s, u, maybe_repeat,
                                  why, sizeof why, &perm);
            } else {
                r = local_mbox(l, c.sender, prefix.s, why, sizeof why, &perm);
            }
            if (r == -1)
                done(perm ? 100 : 111, "%s", why, 0);
            if (report.len == 0 &&
                (dstr_cats(&report, why) == -1 || dstr_cat0(&report) == -1))
                nomem();
        } else {
            const char *a = l[0] == '&' ? l + 1 : l;
            size_t alen = strlen(a), k;
            while (*a == ' ' || *a == '\t') {
                a++;
                alen--;
            }
            if (alen >= 2 && a[0] == '<' && a[alen - 1] == '>') {
                a++;
                alen -= 2;
            }
            if (alen == 0 || alen > QUEUE_ADDR_MAX)
                done(111, "%s: bad forward address on a line (#4.3.5)",
                     name.s, 0);
            for (k = 0; k < alen; k++)
                if ((unsigned char)a[k] < 32 || a[k] == 127)
                    done(111, "%s: control character in a forward (#4.3.5)",
                         name.s, 0);
            if (++forwards > FORWARDS_MAX)
                done(111, "%s: too many forwards (#4.3.5)", name.s, 0);
            if (dstr_catb(&fwd, a, alen) == -1 || dstr_catc(&fwd, 0) == -1)
                nomem();
        }
    }
    if (forwards &&
        local_forward(dt.s, newsender.s, fwd.s, fwd.len, why, sizeof why,
                      &perm) == -1)
        done(perm ? 100 : 111, "%s", why, 0);
    if (files + forwards + programs == 0)
        done(111, "%s has no delivery instructions (#4.3.5)", name.s, 0);
    {
        char summary[1100];
        snprintf(summary, sizeof summary, "did %u+%u+%u%s%s", files, forwards,
                 programs, report.len ? ": " : "", report.len ? report.s : "");
        done(0, "%s%s", summary, 0);
    }
}
