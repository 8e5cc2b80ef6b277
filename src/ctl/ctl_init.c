/*
 * ctl_init.c: `qmailctl init DIR [options]` creates an instance.
 *
 * Never a half-made instance:
 *   - DIR does not exist: everything is built in a sibling directory
 *     .NAME.init.PID and renamed to DIR at the end, in one step.
 *   - DIR is an empty directory (e.g. made by an administrator for a user):
 *     it is filled in place, control/me (the mark of an instance) written
 *     last; on failure everything written is removed again.
 *   - DIR is already an instance (has control/me): init repairs it, creating
 *     only what is missing and never changing an existing file.  An option
 *     that disagrees with an existing control file is refused before
 *     anything is written, naming the file.
 *   - anything else (a file, a non-empty directory that is no instance) is
 *     refused.
 *
 * Trusts: nothing from the command line before ctl_check.c accepted it.
 */
#include "ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "file.h"
#include "log.h"
#include "qhome.h"
#include "queue.h"

/* The instance's ports: option, control file, default (DESIGN.md 5). */
static const struct init_port {
    const char *opt;
    const char *file;
    const char *def;
    const char *label;
} init_ports[] = {
    {"smtp-port", "control/smtpport", "2525", "smtp"},
    {"pop3-port", "control/pop3port", "1110", "pop3"},
    {"qmtp-port", "control/qmtpport", "2209", "qmtp"},
    {"qmqp-port", "control/qmqpport", "6280", "qmqp"},
    {"submission-port", "control/submissionport", "5870", "submission"},
};
#define NPORTS (sizeof init_ports / sizeof init_ports[0])

#define DEFAULT_HOSTNAME "localhost"
#define DEFAULT_BIND "127.0.0.1"

typedef struct init_conf {
    dstr hostname;          /* lower case, NUL-terminated */
    int hostname_given;
    dstr bind;              /* canonical, NUL-terminated */
    int bind_given;
    unsigned port[NPORTS];
    int port_given[NPORTS];
} init_conf;

/* What init did, for the closing message. */
typedef struct init_log {
    dstr created;   /* ", "-separated relative names */
    int count;
} init_log;

static void note(init_log *lg, const char *rel)
{
    if ((lg->created.len && dstr_cats(&lg->created, ", ") == -1) ||
        dstr_cats(&lg->created, rel) == -1 || dstr_cat0(&lg->created) == -1)
        ctl_nomem();
    lg->count++;
}

const char *ctl_port_default(const char *file)
{
    size_t i;
    for (i = 0; i < NPORTS; i++)
        if (strcmp(init_ports[i].file, file) == 0)
            return init_ports[i].def;
    return 0;
}

/* ---- derived control files ------------------------------------------- */

/* defaultdomain: the host name without its first label when it has at
 * least three ("mail.example.com" -> "example.com"), else the host name.
 * plusdomain: its last two labels ("mail.example.com" -> "example.com"),
 * the host name itself when it has fewer. */
static void derive_domains(const char *host, dstr *defaultdomain,
                           dstr *plusdomain)
{
    const char *first = strchr(host, '.');
    const char *p, *last2 = host;
    int dots = 0;

    for (p = host; *p; p++)
        if (*p == '.')
            dots++;
    if (dstr_copys(defaultdomain, dots >= 2 ? first + 1 : host) == -1)
        ctl_nomem();
    if (dots >= 1) {
        int seen = 0;
        for (p = host + strlen(host); p > host; p--)
            if (p[-1] == '.' && ++seen == 2) {
                last2 = p;
                break;
            }
    }
    if (dstr_copys(plusdomain, last2) == -1 || dstr_cat0(defaultdomain) == -1 ||
        dstr_cat0(plusdomain) == -1)
        ctl_nomem();
}

/* ---- creating things that are missing -------------------------------- */

/* Is path there, and of type fmt (S_IFDIR...)?  1 yes, 0 missing, -1
 * there but of another type, or unreadable (reported). */
static int existing(const char *path, mode_t fmt, const char *what)
{
    struct stat st;

    if (lstat(path, &st) == 0) {
        if ((st.st_mode & S_IFMT) == fmt)
            return 1;
        log_line("%s: exists but is not %s", path, what);
        return -1;
    }
    if (errno != ENOENT) {
        log_errno("%s: cannot check", path);
        return -1;
    }
    return 0;
}

static int ensure_dir(const dstr *root, const char *rel, mode_t mode,
                      init_log *lg)
{
    dstr p = DSTR_ZERO;
    int r = -1;

    ctl_path(&p, root, rel);
    r = existing(p.s, S_IFDIR, "a directory");
    if (r != 0) {
        r = r == 1 ? 0 : -1;
        goto out;
    }
    r = -1;
    if (mkdir(p.s, mode) == -1 || chmod(p.s, mode) == -1 || ctl_own(p.s) == -1) {
        log_errno("%s: cannot create directory", p.s);
        goto out;
    }
    note(lg, rel);
    r = 0;
out:
    dstr_free(&p);
    return r;
}

static int ensure_file(const dstr *root, const char *rel, const char *content,
                       mode_t mode, init_log *lg)
{
    dstr p = DSTR_ZERO;
    int r = -1;

    ctl_path(&p, root, rel);
    r = existing(p.s, S_IFREG, "a regular file");
    if (r != 0) {
        r = r == 1 ? 0 : -1;
        goto out;
    }
    r = -1;
    if (file_write_atomic(p.s, content, strlen(content), mode) == -1 ||
        chmod(p.s, mode) == -1 || ctl_own(p.s) == -1) {
        log_errno("%s: cannot write", p.s);
        goto out;
    }
    note(lg, rel);
    r = 0;
out:
    dstr_free(&p);
    return r;
}

/* The alias user's home: mail for postmaster, mailer-daemon and root
 * lands in alias/Maildir/.  It belongs to the mailbox owner, or to user
 * alias in a root install (never root: qmail-lspawn refuses to deliver as
 * root). */
static int ensure_alias(const dstr *root, init_log *lg)
{
    static const char *const dirs[] = {"alias/Maildir", "alias/Maildir/cur",
                                       "alias/Maildir/new",
                                       "alias/Maildir/tmp"};
    static const char *const files[] = {"alias/.qmail-postmaster",
                                        "alias/.qmail-mailer-daemon",
                                        "alias/.qmail-root"};
    static const char *const all[] = {
        "alias", "alias/Maildir", "alias/Maildir/cur", "alias/Maildir/new",
        "alias/Maildir/tmp", "alias/.qmail-postmaster",
        "alias/.qmail-mailer-daemon", "alias/.qmail-root"};
    dstr p = DSTR_ZERO;
    struct stat st;
    size_t i;
    int r = -1;

    for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (ensure_dir(root, dirs[i], 0700, lg) == -1)
            goto out;
    for (i = 0; i < sizeof files / sizeof files[0]; i++)
        if (ensure_file(root, files[i], "./Maildir/\n", 0644, lg) == -1)
            goto out;
    for (i = 0; i < sizeof all / sizeof all[0]; i++) {
        ctl_path(&p, root, all[i]);
        if (lstat(p.s, &st) == 0 && st.st_uid == 0 &&
            ctl_system_own_alias(p.s) == -1) {
            log_errno("%s: cannot set owner", p.s);
            goto out;
        }
    }
    r = 0;
out:
    dstr_free(&p);
    return r;
}

/* A control file holding one value. */
static int ensure_value(const dstr *root, const char *rel, const char *value,
                        init_log *lg)
{
    dstr line = DSTR_ZERO;
    int r;

    if (dstr_copys(&line, value) == -1 || dstr_cats(&line, "\n") == -1 ||
        dstr_cat0(&line) == -1)
        ctl_nomem();
    r = ensure_file(root, rel, line.s, 0644, lg);
    dstr_free(&line);
    return r;
}

static int ensure_fifo(const dstr *root, const char *rel, mode_t mode,
                       init_log *lg)
{
    dstr p = DSTR_ZERO;
    int r = -1;

    ctl_path(&p, root, rel);
    r = existing(p.s, S_IFIFO, "a FIFO");
    if (r != 0) {
        r = r == 1 ? 0 : -1;
        goto out;
    }
    r = -1;
    if (mkfifo(p.s, mode) == -1 || chmod(p.s, mode) == -1 ||
        ctl_own(p.s) == -1) {
        log_errno("%s: cannot create FIFO", p.s);
        goto out;
    }
    note(lg, rel);
    r = 0;
out:
    dstr_free(&p);
    return r;
}

/* ---- access rules for qmail-tcpd ------------------------------------- */


#define RULES_HEAD                                                          \
    "# Access rules for qmail-tcpd: ADDRESS:allow|deny[,NAME=\"value\"]...\n" \
    "# The longest matching address wins; see qmail-tcprules(8).  After\n"  \
    "# editing, compile (in the instance directory):\n"                     \
    "#   qmail-tcprules control/%s.cdb control/%s.tmp < control/%s\n"

/* Default rules per service (by the NAME of control/NAMEport): loopback
 * clients may relay through SMTP and QMTP (and skip SMTP's early-talker
 * pause); QMQP trusts its clients with
 * every recipient, so only loopback may use it; the others allow all. */
static const struct init_rules {
    const char *service;
    const char *rules;
} init_rules[] = {
    {"smtp", "127.:allow,RELAYCLIENT=\"\",GREETDELAY=\"0\"\n"
             "::1:allow,RELAYCLIENT=\"\",GREETDELAY=\"0\"\n"
             ":allow\n"},
    {"qmtp", "127.:allow,RELAYCLIENT=\"\"\n::1:allow,RELAYCLIENT=\"\"\n"
             ":allow\n"},
    {"qmqp", "127.:allow\n::1:allow\n:deny\n"},
};

/* Run bin/qmail-tcprules CDB TMP < TEXT.  Returns 0, or -1 after
 * reporting (its own error line names the bad rule). */
static int compile_rules(const char *text, const char *cdb, const char *tmp)
{
    dstr prog = DSTR_ZERO;
    pid_t pid;
    int fd, status, r = -1;

    if (dstr_copys(&prog, qhome_bindir()) == -1 ||
        dstr_cats(&prog, "/qmail-tcprules") == -1 || dstr_cat0(&prog) == -1)
        ctl_nomem();
    fd = open(text, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1) {
        log_errno("%s: cannot open", text);
        goto out;
    }
    pid = fork();
    if (pid == -1) {
        log_errno("cannot fork to run %s", prog.s);
        close(fd);
        goto out;
    }
    if (pid == 0) {
        char *argv[] = {prog.s, (char *)cdb, (char *)tmp, 0};
        if (dup2(fd, 0) == -1)
            _exit(111);
        execv(prog.s, argv);
        log_die_errno(111, "cannot run %s", prog.s);
    }
    close(fd);
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            log_errno("cannot wait for %s", prog.s);
            goto out;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        r = 0;
    else
        log_line("%s: qmail-tcprules could not compile it into %s", text,
                 cdb);
out:
    dstr_free(&prog);
    return r;
}

/* control/tcp.NAME for each network service, and its cdb when missing
 * and qmail-tcprules is built.  Existing files are left alone. */
static int ensure_rules(const dstr *root, init_log *lg)
{
    dstr rel = DSTR_ZERO, relcdb = DSTR_ZERO, text = DSTR_ZERO,
         cdb = DSTR_ZERO, tmp = DSTR_ZERO, content = DSTR_ZERO,
         tool = DSTR_ZERO;
    size_t i, j;
    int r = -1, have;

    if (dstr_copys(&tool, qhome_bindir()) == -1 ||
        dstr_cats(&tool, "/qmail-tcprules") == -1 || dstr_cat0(&tool) == -1)
        ctl_nomem();
    for (i = 0; i < ctl_nservices; i++) {
        const ctl_service *s = &ctl_services[i];
        const char *name, *rules = ":allow\n";
        if (!s->portfile)
            continue;
        ctl_rules_file(s, 0, &rel);
        ctl_rules_file(s, 1, &relcdb);
        name = rel.s + strlen("control/tcp.");
        for (j = 0; j < sizeof init_rules / sizeof init_rules[0]; j++)
            if (strcmp(init_rules[j].service, name) == 0)
                rules = init_rules[j].rules;
        content.len = 0;
        if (dstr_catf(&content, RULES_HEAD, rel.s + 8, rel.s + 8,
                      rel.s + 8) == -1 ||
            dstr_cats(&content, rules) == -1 || dstr_cat0(&content) == -1)
            ctl_nomem();
        if (ensure_file(root, rel.s, content.s, 0644, lg) == -1)
            goto out;
        ctl_path(&cdb, root, relcdb.s);
        have = file_exists(cdb.s);
        if (have == -1) {
            log_errno("%s: cannot check", cdb.s);
            goto out;
        }
        if (have == 1 || access(tool.s, X_OK) == -1)
            continue;
        ctl_path(&text, root, rel.s);
        if (dstr_copyb(&tmp, cdb.s, cdb.len) == -1 ||
            dstr_cats(&tmp, ".tmp") == -1 || dstr_cat0(&tmp) == -1)
            ctl_nomem();
        if (compile_rules(text.s, cdb.s, tmp.s) == -1)
            goto out;
        if (ctl_own(cdb.s) == -1) {
            log_errno("%s: cannot change owner", cdb.s);
            goto out;
        }
        note(lg, relcdb.s);
    }
    r = 0;
out:
    dstr_free(&rel);
    dstr_free(&relcdb);
    dstr_free(&text);
    dstr_free(&cdb);
    dstr_free(&tmp);
    dstr_free(&content);
    dstr_free(&tool);
    return r;
}

#define PRIVSEP_TEXT                                                        \
    "# This instance is a root install: qmailctl and qmail-start run each\n" \
    "# program under its qmail user (qmailctl(8), SECURITY.md).  Written\n" \
    "# by qmailctl init --system; remove it only with the queue stopped.\n"

/* Create whatever is missing under root.  control/me comes last, so that
 * root never looks like an instance before it is one. */
static int populate(const dstr *root, const init_conf *c, init_log *lg)
{
    static const struct { const char *rel; mode_t mode; } dirs[] = {
        {"control", 0755}, {"queue", 0750},     {"queue/tmp", 0700},
        {"queue/mess", 0750}, {"queue/lock", 0750}, {"users", 0755},
        {"alias", 0755},   {"mail", 0755},      {"log", 0755},
        {"run", 0755},     {"queue/sock", 0755}, {"queue/free", 0700},
    };
    dstr dd = DSTR_ZERO, pd = DSTR_ZERO;
    char rel[32], num[16];
    size_t i;
    int r = -1;

    for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (ensure_dir(root, dirs[i].rel, dirs[i].mode, lg) == -1)
            goto out;
    for (i = 0; i < QUEUE_BUCKETS; i++) {
        snprintf(rel, sizeof rel, "queue/mess/%02u", (unsigned)i);
        if (ensure_dir(root, rel, 0750, lg) == -1)
            goto out;
    }
    if (ensure_fifo(root, "queue/lock/trigger", 0622, lg) == -1 ||
        ensure_file(root, "queue/lock/sendlock", "", 0600, lg) == -1)
        goto out;
    /* a root install: qmail-remote (qmailr) cannot create files in
     * queue/lock, so its dead-host memory is made here; and the mark that
     * makes every program run under its qmail user */
    if (ctl_system() &&
        (ensure_file(root, "queue/lock/tcpto", "", 0644, lg) == -1 ||
         ensure_file(root, CTL_PRIVSEP_FILE, PRIVSEP_TEXT, 0644, lg) == -1))
        goto out;
    /* qmail-users format: an assign file ends with a line "." */
    if (ensure_alias(root, lg) == -1 || ctl_queue_share(root) == -1)
        return -1;
    if (ensure_file(root, "users/assign", ".\n", 0644, lg) == -1)
        goto out;

    for (i = 0; i < NPORTS; i++) {
        snprintf(num, sizeof num, "%u", c->port[i]);
        if (ensure_value(root, init_ports[i].file, num, lg) == -1)
            goto out;
    }
    if (ensure_value(root, "control/bindaddress", c->bind.s, lg) == -1)
        goto out;
    if (ensure_rules(root, lg) == -1)
        goto out;
    derive_domains(c->hostname.s, &dd, &pd);
    if (ensure_value(root, "control/locals", c->hostname.s, lg) == -1 ||
        ensure_value(root, "control/rcpthosts", c->hostname.s, lg) == -1 ||
        ensure_value(root, "control/defaultdomain", dd.s, lg) == -1 ||
        ensure_value(root, "control/plusdomain", pd.s, lg) == -1 ||
        ensure_value(root, "control/me", c->hostname.s, lg) == -1)
        goto out;
    r = 0;
out:
    dstr_free(&dd);
    dstr_free(&pd);
    return r;
}

/* ---- settings ---------------------------------------------------------- */

static int conf_from_options(init_conf *c, const ctl_opt *opts)
{
    const char *v;
    size_t i, j;

    v = ctl_opt_get(opts, "hostname");
    c->hostname_given = v != 0;
    if (!v)
        v = DEFAULT_HOSTNAME;
    if (v[0] && v[strlen(v) - 1] == '.' && strlen(v) > 1) {
        log_line("--hostname %s: give the name without the trailing dot", v);
        return -1;
    }
    if (!ctl_hostname_ok(v)) {
        log_line("--hostname %s: not a valid domain name (letters, digits, "
                 "'-' and dots, labels of 1-63 bytes)", v);
        return -1;
    }
    if (dstr_copys(&c->hostname, v) == -1 || dstr_cat0(&c->hostname) == -1)
        ctl_nomem();
    dstr_lower(&c->hostname);

    v = ctl_opt_get(opts, "bind");
    c->bind_given = v != 0;
    if (!ctl_bind_ok(v ? v : DEFAULT_BIND, &c->bind)) {
        log_line("--bind %s: not an IPv4 or IPv6 address", v);
        return -1;
    }

    for (i = 0; i < NPORTS; i++) {
        v = ctl_opt_get(opts, init_ports[i].opt);
        c->port_given[i] = v != 0;
        if (ctl_port_parse(v ? v : init_ports[i].def, &c->port[i]) == -1) {
            log_line("--%s %s: not a port number (1..65535)",
                     init_ports[i].opt, v);
            return -1;
        }
    }
    for (i = 0; i < NPORTS; i++)
        for (j = i + 1; j < NPORTS; j++)
            if (c->port[i] == c->port[j] &&
                (c->port_given[i] || c->port_given[j])) {
                log_line("--%s and --%s: both are port %u; each service "
                         "needs its own port",
                         init_ports[i].opt, init_ports[j].opt, c->port[i]);
                return -1;
            }
    return 0;
}

/* Compare an option with the instance's existing control file; take the
 * file's value when the option was not given.  Returns -1 on a conflict
 * (reported). */
static int reconcile(const dstr *root, const char *rel, const char *optname,
                     int given, dstr *value)
{
    dstr p = DSTR_ZERO, have = DSTR_ZERO;
    int r;

    ctl_path(&p, root, rel);
    r = control_readline(p.s, &have, 0);
    if (r == -1) {
        log_errno("%s: cannot read", p.s);
        goto out;
    }
    r = 0;
    if (have.len == 0)
        goto out;   /* missing or empty: ours will be written */
    if (dstr_cat0(&have) == -1)
        ctl_nomem();
    if (given) {
        if (!(have.len == value->len &&
              memcmp(have.s, value->s, value->len) == 0)) {
            log_line("%s: this instance has %s, not --%s %s; init never "
                     "changes an existing instance, edit the file instead",
                     p.s, have.s, optname, value->s);
            r = -1;
        }
        goto out;
    }
    if (dstr_copy(value, &have) == -1 || dstr_cat0(value) == -1)
        ctl_nomem();
out:
    dstr_free(&p);
    dstr_free(&have);
    return r;
}

static int conf_from_instance(init_conf *c, const dstr *root)
{
    dstr v = DSTR_ZERO;
    size_t i;
    int r = -1;

    if (reconcile(root, "control/me", "hostname", c->hostname_given,
                  &c->hostname) == -1)
        goto out;
    if (reconcile(root, "control/bindaddress", "bind", c->bind_given,
                  &c->bind) == -1)
        goto out;
    for (i = 0; i < NPORTS; i++) {
        dstr p = DSTR_ZERO;
        if (dstr_copys(&v, "") == -1 || dstr_catf(&v, "%u", c->port[i]) == -1 ||
            dstr_cat0(&v) == -1)
            ctl_nomem();
        if (reconcile(root, init_ports[i].file, init_ports[i].opt,
                      c->port_given[i], &v) == -1)
            goto out;
        if (ctl_port_parse(v.s, &c->port[i]) == -1) {
            log_line("%s: not a port number (1..65535): %s",
                     ctl_path(&p, root, init_ports[i].file), v.s);
            dstr_free(&p);
            goto out;
        }
        dstr_free(&p);
    }
    r = 0;
out:
    dstr_free(&v);
    return r;
}

/* ---- the three ways to create ---------------------------------------- */

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int empty = 1;

    if (!d)
        return -1;
    errno = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

/* Remove everything inside path (it was empty when we began). */
static void empty_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    dstr p = DSTR_ZERO;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (dstr_copys(&p, path) == -1 || dstr_catc(&p, '/') == -1 ||
            dstr_cats(&p, e->d_name) == -1 || dstr_cat0(&p) == -1)
            ctl_nomem();
        ctl_remove_tree(p.s);
    }
    closedir(d);
    dstr_free(&p);
}

static int create_new(const dstr *root, const init_conf *c, init_log *lg)
{
    dstr tmp = DSTR_ZERO, parent = DSTR_ZERO;
    const char *slash = strrchr(root->s, '/');
    size_t plen = (size_t)(slash - root->s);
    int r = -1;

    if (dstr_copyb(&parent, root->s, plen ? plen : 1) == -1 ||
        dstr_cat0(&parent) == -1)
        ctl_nomem();
    if (file_mkdirs(parent.s, 0755) == -1) {
        log_errno("%s: cannot create directory", parent.s);
        goto out;
    }
    if (dstr_copyb(&tmp, root->s, plen) == -1 || dstr_cats(&tmp, "/.") == -1 ||
        dstr_cats(&tmp, slash + 1) == -1 ||
        dstr_catf(&tmp, ".init.%ld", (long)getpid()) == -1 ||
        dstr_cat0(&tmp) == -1)
        ctl_nomem();
    if (mkdir(tmp.s, 0755) == -1 || chmod(tmp.s, 0755) == -1) {
        log_errno("%s: cannot create directory", tmp.s);
        goto out;
    }
    if (populate(&tmp, c, lg) == -1)
        goto undo;
    if (file_fsync_dir(tmp.s) == -1) {
        log_errno("%s: cannot sync", tmp.s);
        goto undo;
    }
    if (rename(tmp.s, root->s) == -1) {
        if (errno == EEXIST || errno == ENOTEMPTY)
            log_line("%s: appeared while the instance was being made; "
                     "nothing changed", root->s);
        else
            log_errno("%s: cannot rename %s to it", root->s, tmp.s);
        goto undo;
    }
    file_fsync_parent(root->s);
    r = 0;
    goto out;
undo:
    ctl_remove_tree(tmp.s);
out:
    dstr_free(&tmp);
    dstr_free(&parent);
    return r;
}

static void print_summary(const dstr *root, const init_conf *c)
{
    dstr msg = DSTR_ZERO;
    size_t i;

    if (dstr_catf(&msg, "%s: %shostname %s, bind %s, ports", root->s,
                  ctl_system() ? "root install, " : "", c->hostname.s,
                  c->bind.s) == -1)
        ctl_nomem();
    for (i = 0; i < NPORTS; i++)
        if (dstr_catf(&msg, "%s %s %u", i ? "," : "", init_ports[i].label,
                      c->port[i]) == -1)
            ctl_nomem();
    if (dstr_cat0(&msg) == -1)
        ctl_nomem();
    printf("%s\n", msg.s);
    dstr_free(&msg);
}

int ctl_cmd_init(int argc, char **argv)
{
    ctl_opt opts[] = {{"hostname", 0, 0},   {"smtp-port", 0, 0},
                      {"pop3-port", 0, 0},  {"qmtp-port", 0, 0},
                      {"qmqp-port", 0, 0},  {"submission-port", 0, 0},
                      {"bind", 0, 0},       {"system", 0, 1},
                      {0, 0, 0}};
    init_conf c;
    init_log lg = {DSTR_ZERO, 0};
    ctl_args a;
    dstr root = DSTR_ZERO, me = DSTR_ZERO;
    struct stat st;
    int r = CTL_FAIL, empty;

    memset(&c, 0, sizeof c);
    if (ctl_args_parse(argc, argv, opts, &a) == -1)
        return CTL_USAGE;
    if (a.npos != 1) {
        log_line("usage: qmailctl init DIR [--hostname H] [--smtp-port N] "
                 "[--pop3-port N] [--qmtp-port N] [--qmqp-port N] "
                 "[--submission-port N] [--bind ADDR] [--system]");
        return CTL_USAGE;
    }
    ctl_system_set(ctl_opt_get(opts, "system") != 0);
    if (conf_from_options(&c, opts) == -1)
        goto out;
    if (ctl_abspath(&root, a.pos[0]) == -1) {
        log_errno("%s: cannot find directory", a.pos[0]);
        goto out;
    }
    umask(022);

    if (lstat(root.s, &st) == -1) {
        if (errno != ENOENT) {
            log_errno("%s: cannot check", root.s);
            goto out;
        }
        if (create_new(&root, &c, &lg) == -1)
            goto out;
        printf("created instance ");
        print_summary(&root, &c);
        r = CTL_OK;
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_line("%s: exists and is not a directory; refusing to init", root.s);
        goto out;
    }
    if (ctl_own_init(root.s) == -1) {
        log_errno("%s: cannot stat", root.s);
        goto out;
    }
    if (!ctl_system()) {
        /* a root install stays one */
        if (ctl_system_init(&root) == -1)
            goto out;
    } else if (geteuid() == 0 && st.st_uid != 0) {
        log_line("%s: --system needs a directory owned by root", root.s);
        goto out;
    }
    ctl_path(&me, &root, "control/me");
    if (file_exists(me.s) == 1) {
        /* an instance already: fill in what is missing, change nothing */
        if (conf_from_instance(&c, &root) == -1)
            goto out;
        if (populate(&root, &c, &lg) == -1)
            goto out;
        if (lg.count)
            printf("%s: already an instance; created what was missing: %s\n",
                   root.s, lg.created.s);
        else
            printf("%s: already an instance and complete; nothing changed\n",
                   root.s);
        r = CTL_OK;
        goto out;
    }
    empty = dir_is_empty(root.s);
    if (empty == -1) {
        log_errno("%s: cannot read directory", root.s);
        goto out;
    }
    if (!empty) {
        log_line("%s: directory is not empty and is not an instance (no "
                 "control/me); refusing to init", root.s);
        goto out;
    }
    if (populate(&root, &c, &lg) == -1) {
        empty_dir(root.s);
        goto out;
    }
    if (file_fsync_dir(root.s) == -1) {
        log_errno("%s: cannot sync", root.s);
        empty_dir(root.s);
        goto out;
    }
    printf("created instance ");
    print_summary(&root, &c);
    r = CTL_OK;
out:
    fflush(stdout);
    dstr_free(&root);
    dstr_free(&me);
    dstr_free(&lg.created);
    dstr_free(&c.hostname);
    dstr_free(&c.bind);
    return r;
}
