/*
 * inject_run.c: the submission driver shared by qmail-inject and sendmail.
 * See inject_run.h.
 *
 * Order of work: find qmail-queue, go to $QMAILHOME, load settings, read
 * the header (bounded: INJECT_HEADER_MAX), fix it, settle sender and
 * recipients (refusing bad ones before anything is queued), then start
 * qmail-queue and stream header and body to it, and the envelope after.
 * Nothing of the body is held beyond one buffer.
 *
 * Trust: stdin, arguments and environment come from the submitting user,
 * who gains nothing by lying to us: we run with their privileges.  The
 * checks are there to give clear errors and to keep qmail-queue's input
 * well-formed (address length, NUL bytes, recipient count).
 */
#include "inject_run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "date822.h"
#include "dstr.h"
#include "inject_addr.h"
#include "inject_conf.h"
#include "inject_env.h"
#include "inject_header.h"
#include "inject_input.h"
#include "inject_queue.h"
#include "qqueue.h"
#include "log.h"
#include "qhome.h"
#include "queue.h"
#include "sig.h"

#define EXIT_PERM 100
#define EXIT_TEMP 111

static _Noreturn void die_nomem(void)
{
    log_die(EXIT_TEMP, "out of memory");
}

static void check(int r)
{
    if (r == -1)
        die_nomem();
}

/* Descriptors 0, 1 and 2 must be open, so that our pipes never land on
 * them (the child's dup2 onto 0 and 1 relies on it). */
static void open_std_fds(void)
{
    int fd;

    for (fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
            _exit(EXIT_TEMP);
    }
}

/* Fail on addresses qmail-queue cannot take. */
static void check_addr(const dstr *a, const char *what)
{
    if (a->len > QUEUE_ADDR_MAX)
        log_die(EXIT_PERM, "%s address too long: %zu bytes (limit %d)", what,
                a->len, QUEUE_ADDR_MAX);
    if (a->len && memchr(a->s, 0, a->len))
        log_die(EXIT_PERM, "%s address contains a NUL byte", what);
}

static void add_rcpt(inject_env *env, const inject_addr *a)
{
    dstr e = DSTR_ZERO;

    if (a->is_null)
        return; /* "<>" receives nothing */
    check(inject_addr_envelope(a, &e));
    check_addr(&e, "recipient");
    if (env->nrcpts >= QUEUE_RCPT_MAX)
        log_die(EXIT_PERM, "too many recipients (limit %d)", QUEUE_RCPT_MAX);
    check(inject_env_rcpt(env, e.s ? e.s : "", e.len));
    dstr_free(&e);
}

/* Recipients named by the arguments: each one an address list. */
static void add_arg_rcpts(inject_env *env, const inject_opts *o,
                          const inject_qual *q)
{
    inject_addrlist l = INJECT_ADDRLIST_ZERO;
    size_t i, k;

    for (i = 0; i < o->nargs; i++) {
        const char *arg = o->args[i];
        size_t found = 0;

        inject_addrlist_clear(&l);
        check(inject_addr_parse(arg, strlen(arg), &l));
        for (k = 0; k < l.n; k++) {
            if (l.v[k].is_null)
                continue;
            check(inject_addr_qualify(&l.v[k], q));
            add_rcpt(env, &l.v[k]);
            found++;
        }
        if (!found)
            log_die(EXIT_PERM, "bad recipient address: '%s'", arg);
    }
    inject_addrlist_free(&l);
}

/* The -f argument: "" and "<>" are the null sender. */
static void parse_sender(const char *s, const inject_qual *q, dstr *out)
{
    inject_addrlist l = INJECT_ADDRLIST_ZERO;
    size_t i;

    out->len = 0;
    for (i = 0; s[i] == ' ' || s[i] == '\t'; i++)
        ;
    if (!s[i])
        return;
    check(inject_addr_parse(s, strlen(s), &l));
    if (l.n != 1)
        log_die(EXIT_PERM, "bad sender address: '%s'", s);
    check(inject_addr_qualify(&l.v[0], q));
    check(inject_addr_envelope(&l.v[0], out));
    inject_addrlist_free(&l);
}

/* user@host, qualified, from the settings. */
static void local_address(const char *user, const char *host,
                          const inject_qual *q, inject_addr *a)
{
    memset(a, 0, sizeof *a);
    check(dstr_cats(&a->local, user));
    check(dstr_cats(&a->domain, host));
    a->has_domain = 1;
    check(inject_addr_qualify(a, q));
}

typedef struct header_read {
    inject_header h;
    dstr first_body;    /* a body line that came without an empty line */
    int body_follows;   /* input goes on after the header */
} header_read;

static void read_header(inject_in *in, header_read *hr)
{
    dstr line = DSTR_ZERO;
    size_t used = 0;
    int first = 1;

    for (;;) {
        size_t valoff;
        int toolong, r, is_field, is_cont;

        /* read enough of the line to see its field name even near the
         * limit; the size check below is exact */
        line.len = 0;
        r = inject_in_getline(in, &line, INJECT_HEADER_MAX - used + 1000,
                              &toolong);
        if (r == -1)
            log_die_errno(EXIT_TEMP, "unable to read the message");
        if (r == 0)
            break;
        if (first && !toolong && dstr_starts(&line, "From ") &&
            !inject_header_fieldname(line.s, line.len, &valoff)) {
            first = 0;
            continue; /* an mbox "From " line is no header field */
        }
        first = 0;
        if (line.len == 1 && line.s[0] == '\n') {
            hr->body_follows = 1;
            break;
        }
        is_field = inject_header_fieldname(line.s, line.len, &valoff) != 0;
        is_cont = !is_field && hr->h.n > 0 &&
                  inject_header_is_continuation(line.s, line.len);
        if (!is_field && !is_cont) {
            /* the header ends without its empty line */
            check(dstr_copy(&hr->first_body, &line));
            hr->body_follows = 1;
            break;
        }
        if (toolong || used + line.len > INJECT_HEADER_MAX)
            log_die(EXIT_PERM, "message header too large (limit %d bytes)",
                    INJECT_HEADER_MAX);
        used += line.len;
        check(is_field ? inject_header_add(&hr->h, line.s, line.len)
                       : inject_header_continue(&hr->h, line.s, line.len));
    }
    dstr_free(&line);
}

/* Where the message goes: qmail-queue (q) or our stdout (fd). */
typedef struct sink {
    qqueue *q;
    int fd;
    int failed;         /* a write failed (errno saved) */
    int err;
} sink;

static void sink_put(sink *s, const char *p, size_t n)
{
    if (s->failed || n == 0)
        return;
    if (s->q) {
        qqueue_put(s->q, p, n);
        if (s->q->failed) {
            s->failed = 1;
            s->err = errno;
        }
        return;
    }
    if (fd_write_all(s->fd, p, n, 0) == -1) {
        s->failed = 1;
        s->err = errno;
    }
}

/* Header, then the body streamed from in.  Returns 0, or -1 when reading
 * stdin failed (errno set).  Write failures are left in s. */
static int send_message(sink *s, const dstr *header, header_read *hr,
                        inject_in *in)
{
    const char *p;
    long n;

    sink_put(s, header->s, header->len);
    if (!hr->body_follows)
        return 0;
    sink_put(s, hr->first_body.s, hr->first_body.len);
    while (!s->failed && (n = inject_in_chunk(in, &p)) != 0) {
        if (n < 0)
            return -1;
        sink_put(s, p, (size_t)n);
    }
    return 0;
}

static _Noreturn void die_queue_code(int code)
{
    if (code == QQUEUE_WAITERR || code == QQUEUE_TIMEOUT)
        log_die(EXIT_TEMP, "unable to wait for qmail-queue");
    if (code >= QQUEUE_CRASHED)
        log_die(EXIT_TEMP, "qmail-queue was killed by signal %d",
                code - QQUEUE_CRASHED);
    log_die(code >= 11 && code <= 40 ? EXIT_PERM : EXIT_TEMP,
            "qmail-queue failed: %s (exit %d)", queue_exit_text(code), code);
}

/* Recipients from the header are used in these modes. */
static int header_rcpts_wanted(const inject_opts *o)
{
    switch (o->rcpt_mode) {
    case INJECT_RCPT_AUTO: return o->nargs == 0;
    case INJECT_RCPT_ARGS: return 0;
    case INJECT_RCPT_HEADER: return 1;
    case INJECT_RCPT_BOTH: return 1;
    }
    return 0;
}

static int arg_rcpts_wanted(const inject_opts *o)
{
    return o->rcpt_mode != INJECT_RCPT_HEADER;
}

int inject_run(const inject_opts *o)
{
    static inject_in in;    /* large buffers: not on the stack */
    inject_conf conf;
    inject_qual qual;
    header_read hr;
    inject_fixed fx;
    inject_env env = INJECT_ENV_ZERO;
    dstr prog = DSTR_ZERO, out = DSTR_ZERO, sender = DSTR_ZERO;
    const char *failed;
    int drop = 0, code;
    size_t i;
    sink s;

    open_std_fds();
    if (sig_ignore(SIGPIPE) == -1)
        log_die_errno(EXIT_TEMP, "unable to ignore SIGPIPE");
    if (!o->print_only) {
        char cwd[PATH_MAX];
        const char *here = getcwd(cwd, sizeof cwd) ? cwd : 0;
        if (inject_queue_program(&prog, here) == -1) {
            if (errno == ENOENT)
                log_die(EXIT_TEMP, "unable to find qmail-queue: "
                        "the directory of this program is unknown");
            die_nomem();
        }
    }
    if (qhome_chdir() == -1)
        log_die_errno(EXIT_TEMP, "unable to switch to %s", qhome_dir());
    memset(&conf, 0, sizeof conf);
    if (inject_conf_load(&conf, o->fullname, &failed) == -1) {
        if (failed)
            log_die_errno(EXIT_TEMP, "unable to read %s", failed);
        die_nomem();
    }
    inject_conf_qual(&conf, &qual);

    /* the header */
    memset(&hr, 0, sizeof hr);
    inject_in_init(&in, 0, o->dot_ends);
    read_header(&in, &hr);
    memset(&fx, 0, sizeof fx);
    if (conf.flag_drop_from)
        drop |= INJECT_DROP_FROM;
    if (conf.flag_drop_msgid)
        drop |= INJECT_DROP_MSGID;
    check(inject_header_fix(&hr.h, &qual, drop, &out, &fx));
    {
        dstr date = DSTR_ZERO, msgid = DSTR_ZERO, from = DSTR_ZERO;
        inject_addr me;
        int need_from = !(fx.seen & INJECT_SEEN_FROM) ||
                        (fx.resent && !(fx.seen & INJECT_SEEN_RFROM));

        check(date822_cat(&date, time(0)));
        check(dstr_cat0(&date));
        check(inject_make_msgid(&msgid, conf.idhost.s));
        check(dstr_cat0(&msgid));
        if (need_from) {
            if (!conf.have_user)
                log_die(EXIT_TEMP, "unable to determine the user name "
                        "for From: set QMAILUSER or USER");
            local_address(conf.user.s, conf.host.s, &qual, &me);
            check(dstr_cat0(&me.domain));
            check(inject_make_from(&from, conf.name.s, conf.user.s,
                                   me.domain.s, conf.flag_comment));
            dstr_free(&me.local);
            dstr_free(&me.domain);
        }
        check(dstr_cat0(&from));
        check(inject_header_additions(&fx, date.s, msgid.s, from.s, &out));
        dstr_free(&date);
        dstr_free(&msgid);
        dstr_free(&from);
    }
    check(dstr_catc(&out, '\n'));

    if (o->print_only) {
        s.q = 0;
        s.fd = 1;
        s.failed = 0;
        if (send_message(&s, &out, &hr, &in) == -1)
            log_die_errno(EXIT_TEMP, "unable to read the message");
        if (s.failed) {
            errno = s.err;
            log_die_errno(EXIT_TEMP, "unable to write the message");
        }
        goto done;
    }

    /* the envelope */
    if (o->sender) {
        parse_sender(o->sender, &qual, &sender);
    } else if (o->use_return_path && !conf.flag_no_retpath &&
               fx.have_return_path) {
        check(inject_addr_envelope(&fx.return_path, &sender));
    } else {
        inject_addr me;
        if (!conf.suser.len)
            log_die(EXIT_TEMP, "unable to determine the user name "
                    "for the sender: set QMAILUSER or USER, or use -f");
        local_address(conf.suser.s, conf.shost.s, &qual, &me);
        check(inject_addr_envelope(&me, &sender));
        dstr_free(&me.local);
        dstr_free(&me.domain);
    }
    check_addr(&sender, "sender");
    check(inject_env_sender(&env, sender.s ? sender.s : "", sender.len));
    if (header_rcpts_wanted(o))
        for (i = 0; i < fx.rcpts.n; i++)
            add_rcpt(&env, &fx.rcpts.v[i]);
    if (arg_rcpts_wanted(o))
        add_arg_rcpts(&env, o, &qual);
    if (env.nrcpts == 0)
        log_die(EXIT_PERM, header_rcpts_wanted(o)
                ? "no recipients: none given as arguments or in the header"
                : "no recipients given");
    check(inject_env_finish(&env));

    /* hand it over */
    {
        static qqueue q;
        int rd;

        if (qqueue_start(&q, prog.s, 0) == -1)
            log_die_errno(EXIT_TEMP, "unable to run %s", prog.s);
        s.q = &q;
        s.fd = -1;
        s.failed = 0;
        rd = send_message(&s, &out, &hr, &in);
        if (rd == -1) {
            int saved = errno;
            qqueue_abort(&q); /* nothing is queued */
            errno = saved;
            log_die_errno(EXIT_TEMP, "unable to read the message");
        }
        /* after a failed write no envelope goes out (qmail-queue then
         * refuses the message); its exit code tells why it stopped */
        code = qqueue_finish(&q, env.buf.s, env.buf.len);
        if (code != 0)
            die_queue_code(code);
        if (q.failed)
            s.failed = 1;
        if (s.failed)
            log_die(EXIT_TEMP, "qmail-queue exited before reading the "
                    "whole message");
    }
done:
    inject_env_free(&env);
    inject_fixed_free(&fx);
    inject_header_free(&hr.h);
    inject_conf_free(&conf);
    dstr_free(&hr.first_body);
    dstr_free(&prog);
    dstr_free(&out);
    dstr_free(&sender);
    return 0;
}
