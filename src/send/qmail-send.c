/*
 * qmail-send: the scheduler.  Started by qmail-start with pipes to
 * qmail-lspawn (fd 3 requests, fd 4 replies) and qmail-clean (fd 5, 6).
 *
 * It learns of new messages from queue/lock/trigger (qmail-queue writes
 * each new id there) and from a scan of queue/mess at start and every
 * SCAN_INTERVAL seconds after each scan, so nothing depends on the
 * trigger arriving.  Triggered mail goes ahead of what the scan found (two
 * lanes); the scan loads envelopes only as slots free up, so memory does
 * not grow with the queue.  It sends every local recipient to
 * qmail-lspawn (at most control/concurrencylocal at once), retries
 * temporary failures on qmail's back-off schedule until
 * control/queuelifetime, bounces permanent failures (one bounce per
 * message, RFC 3464), and has qmail-clean mark and remove queue files.
 * One log line per event on stderr.  When the new lane backs up it sets
 * queue/lock/inflow so that qmail-queued slows its replies (inflow
 * control, below).
 *
 * Promise: a recipient leaves state T only after qmail-lspawn reported
 * the outcome; the message file goes only when no recipient is in T and
 * any bounce is queued.  Killed at any point, a restart repeats at most
 * the deliveries that were running.
 *
 * Signals: TERM finishes running deliveries and exits; ALRM retries
 * everything now; HUP rereads control files.
 *
 * Trust: envelopes come from the queue (checked by queue_env_read);
 * addresses are mail data and are only passed on, never interpreted by a
 * shell.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "control.h"
#include "dstr.h"
#include "log.h"
#include "num.h"
#include "qhome.h"
#include "qqueue.h"
#include "route.h"
#include "sandbox.h"
#include "queue.h"
#include "send_msg.h"
#include "send_sched.h"
#include "sig.h"
#include "timeutil.h"

#define FD_TOLSPAWN 3
#define FD_FROMLSPAWN 4
#define FD_TOCLEAN 5
#define FD_FROMCLEAN 6
#define FD_TORSPAWN 7
#define FD_FROMRSPAWN 8

#define SCAN_INTERVAL 15      /* seconds between scans of queue/mess */
#define TMP_SCAN_INTERVAL 600 /* seconds between scans of queue/tmp */
#define SKIP_LOCAL 10         /* back-off steps (seconds), as qmail */
#define SKIP_REMOTE 20
#define CONCURRENCY_MAX 1000

struct slot {
    struct send_msg *msg; /* NULL when free */
    size_t rcpt;
    int64_t start_ms;
};

static struct slot *slots;
static unsigned long long concurrency = 10;
static unsigned long long concurrencyremote = 20;
static int have_remote; /* qmail-rspawn on fds 7/8 and bin/qmail-remote */
static unsigned long long lifetime = 604800;
static size_t active;
/* Two lanes per channel: new mail (ids from the trigger) is served
 * first, but when both lanes have work every other free slot goes to the
 * old lane (the backlog found by the scan, and retries), so neither
 * starves.  Each lane holds at most about window() jobs: the scan loads
 * envelopes only as slots free up, so a backlog of any size stays on disk
 * (the scan's place is one open directory) until its turn comes. */
#define LANE_NEW 0
#define LANE_OLD 1
static struct send_fifo ready_local[2], ready_remote[2];
static unsigned turn_local, turn_remote; /* alternation between lanes */
static size_t nwait;      /* jobs in the per-destination waiting FIFOs */
static int64_t start_us;  /* when we started: older mail may have been in
                             delivery by our predecessor */
static struct send_heap later;
static route_conf routes = ROUTE_CONF_ZERO;
static dstr me = DSTR_ZERO, envnoathost = DSTR_ZERO,
            bouncefrom = DSTR_ZERO, bouncehost = DSTR_ZERO,
            doublebounceto = DSTR_ZERO, doublebouncehost = DSTR_ZERO;
static int homefd = -1; /* $QMAILHOME, for rereading control files */
static char bindir[PATH_MAX];
static int stopping;
static bio lsout;
static char lsoutbuf[8192];

static void die_nomem(void) { log_die(111, "fatal: out of memory"); }

/* ---- configuration ---------------------------------------------------- */

static void read_controls(int fatal)
{
    unsigned long long c, cr, l;

    if (control_readline("control/me", &me, "localhost") == -1 ||
        dstr_cat0(&me) == -1)
        goto fail_me;
    if (control_readulong("control/concurrencylocal", &c, 10) == -1) {
        log_errno("warning: unable to read control/concurrencylocal");
        if (fatal)
            _exit(111);
        return;
    }
    if (control_readulong("control/concurrencyremote", &cr, 20) == -1) {
        log_errno("warning: unable to read control/concurrencyremote");
        if (fatal)
            _exit(111);
        return;
    }
    if (control_readulong("control/queuelifetime", &l, 604800) == -1) {
        log_errno("warning: unable to read control/queuelifetime");
        if (fatal)
            _exit(111);
        return;
    }
    {
        const char *file;
        if (route_conf_read(&routes, me.s, &file) == -1) {
            log_errno("warning: unable to read %s", file);
            if (fatal)
                _exit(111);
            return;
        }
    }
    if (control_readline("control/envnoathost", &envnoathost, me.s) == -1 ||
        dstr_cat0(&envnoathost) == -1 ||
        control_readline("control/bouncefrom", &bouncefrom,
                         "MAILER-DAEMON") == -1 ||
        dstr_cat0(&bouncefrom) == -1 ||
        control_readline("control/bouncehost", &bouncehost, me.s) == -1 ||
        dstr_cat0(&bouncehost) == -1 ||
        control_readline("control/doublebounceto", &doublebounceto,
                         "postmaster") == -1 ||
        dstr_cat0(&doublebounceto) == -1 ||
        control_readline("control/doublebouncehost", &doublebouncehost,
                         me.s) == -1 ||
        dstr_cat0(&doublebouncehost) == -1) {
        log_errno("warning: unable to read control files");
        if (fatal)
            _exit(111);
        return;
    }
    if (c < 1)
        c = 1;
    if (c > CONCURRENCY_MAX)
        c = CONCURRENCY_MAX;
    concurrency = c;
    if (cr < 1)
        cr = 1;
    if (cr > CONCURRENCY_MAX)
        cr = CONCURRENCY_MAX;
    concurrencyremote = cr;
    lifetime = l;
    return;
fail_me:
    log_errno("warning: unable to read control/me");
    if (fatal)
        _exit(111);
}

/* ---- qmail-clean ------------------------------------------------------ */

/* One request, one reply byte.  Returns 0 if qmail-clean said '+'. */
static int clean(const dstr *req)
{
    char c;
    long r;

    if (fd_write_all(FD_TOCLEAN, req->s, req->len, 0) == -1)
        log_die_errno(111, "fatal: unable to talk to qmail-clean");
    r = fd_read_timeout(FD_FROMCLEAN, &c, 1, 0);
    if (r != 1)
        log_die(111, "fatal: qmail-clean went away");
    return c == '+' ? 0 : -1;
}

static int clean_cmd(char tag, const char *id, const char *arg)
{
    dstr req = DSTR_ZERO;
    int r;

    if (dstr_catc(&req, tag) == -1 || dstr_cats(&req, id) == -1 ||
        (arg && (dstr_catc(&req, ' ') == -1 || dstr_cats(&req, arg) == -1)) ||
        dstr_catc(&req, 0) == -1)
        die_nomem();
    r = clean(&req);
    dstr_free(&req);
    return r;
}

/* ---- message life ----------------------------------------------------- */

static double age_seconds(const struct send_msg *m)
{
    return (double)(time_real_us() - m->arrival_us) / 1e6;
}

/* ---- queue entries hold a reference on their message ------------------ */

/* Drop a queue entry's reference; 1 if its message is finished (the entry
 * is stale; freed with the last entry). */
static int release(struct send_msg *m)
{
    m->qrefs--;
    if (!m->dead)
        return 0;
    if (m->qrefs == 0)
        send_msg_free(m);
    return 1;
}

static void qpush(struct send_fifo *f, struct send_msg *m, size_t i)
{
    if (send_fifo_push(f, m, i) == -1)
        die_nomem();
    m->qrefs++;
}

static int qpop(struct send_fifo *f, struct send_job *j)
{
    while (send_fifo_pop(f, j))
        if (!release(j->msg))
            return 1;
    return 0;
}

/* A ready job of one channel: from the new lane first, but when both
 * lanes have work every other pick is from the old one. */
static int qpop_lanes(struct send_fifo f[2], unsigned *turn,
                      struct send_job *j)
{
    int lane = LANE_NEW;

    if (f[LANE_OLD].n && (f[LANE_NEW].n == 0 || ((*turn)++ & 1)))
        lane = LANE_OLD;
    return qpop(&f[lane], j) || qpop(&f[!lane], j);
}

/* Jobs a lane may hold before no more envelopes are loaded into it: enough
 * to keep every slot busy between two turns of the main loop. */
static size_t window(void)
{
    return 256 + 2 * (size_t)(concurrency + concurrencyremote);
}

/* Whether a message may be loaded into lane now. */
static int lane_room(int lane)
{
    return ready_local[lane].n + ready_remote[lane].n < window() &&
           nwait < 4 * window();
}

/* ---- inflow control --------------------------------------------------- */

/* The flag queue/lock/inflow tells qmail-queued to hold its replies (see
 * qmail-queued.c): set (size 1) when more announced jobs wait in the new
 * lane than inflow_high(), cleared (size 0) below inflow_low().  A file
 * that always exists, not one created and removed: in a root install
 * queue/lock belongs to qmailq and we (qmails) may not create files there,
 * so qmailctl init (ctl_system.c) creates it for us.  Written only on
 * transitions; no fsync (advisory: a crash at worst leaves it set until
 * we start again). */
static int inflowfd = -1;
static int inflow_set;

static size_t inflow_high(void)
{
    return 2 * (size_t)(concurrency + concurrencyremote);
}

static size_t inflow_low(void)
{
    return (size_t)(concurrency + concurrencyremote);
}

static void inflow_write(int on)
{
    if (inflowfd == -1)
        return;
    if (ftruncate(inflowfd, on ? 1 : 0) == -1) {
        log_errno("warning: unable to %s queue/lock/inflow",
                  on ? "set" : "clear");
        return;
    }
    inflow_set = on;
}

static void inflow_open(void)
{
    inflowfd = open("lock/inflow", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                    0644);
    if (inflowfd == -1) {
        log_errno("warning: unable to open queue/lock/inflow; no inflow "
                  "control");
        return;
    }
    inflow_write(0); /* a stale flag from a crash */
}

/* After each turn of the main loop: set or clear the flag on a crossing. */
static void inflow_update(void)
{
    size_t n = ready_local[LANE_NEW].n + ready_remote[LANE_NEW].n;

    if (!inflow_set && n > inflow_high() && !stopping) {
        inflow_write(1);
        if (inflow_set)
            log_line("status: inflow control on, %zu new deliveries "
                     "waiting",
                     n);
    } else if (inflow_set && (n < inflow_low() || stopping)) {
        inflow_write(0);
        if (!inflow_set)
            log_line("status: inflow control off, %zu new deliveries "
                     "waiting",
                     n);
    }
}

static void hpush(struct send_msg *m, size_t i, int64_t when)
{
    if (send_heap_push(&later, m, i, when) == -1)
        die_nomem();
    m->qrefs++;
}

/* All recipients are settled: bounce what failed, then remove the file. */
static void finish_msg(struct send_msg *m)
{
    size_t i, failed = 0;

    if (m->todo != 0 || m->inflight != 0)
        return;
    for (i = 0; i < m->env.nrcpts; i++)
        if (m->env.rcpts[i].state == 'B')
            failed++;
    if (failed) {
        const char *s = m->env.sender;
        const char *to = s, *from = "";
        dstr dbl = DSTR_ZERO;
        int r;

        if (strcmp(s, "#@[]") == 0) {
            log_line("msg %s: %zu recipient(s) failed; this was a double "
                     "bounce: discarded",
                     m->id, failed);
            goto bounced;
        }
        if (s[0] == 0) {
            /* a bounce that failed: tell the postmaster, with a sender
             * that can never be bounced to */
            if (dstr_catf(&dbl, "%s@%s", doublebounceto.s,
                          doublebouncehost.s) == -1 ||
                dstr_cat0(&dbl) == -1)
                die_nomem();
            to = dbl.s;
            from = "#@[]";
        }
        r = send_bounce(m, to, from, bindir, me.s, bouncefrom.s,
                        bouncehost.s);
        if (r == 0)
            log_line("msg %s: %s sent to <%s> for %zu recipient(s)", m->id,
                     s[0] ? "bounce" : "double bounce", to, failed);
        dstr_free(&dbl);
        if (r == -1) {
            /* keep the message; try the bounce again later */
            m->bounce_failed = 1;
            hpush(m, SIZE_MAX, time(0) + 60);
            return;
        }
    bounced:
        /* the bounce is queued: record that on disk first, so neither a
         * failed removal nor a crash sends it again */
        for (i = 0; i < m->env.nrcpts; i++)
            if (m->env.rcpts[i].state == 'B') {
                char off[NUM_FMT_ULONG];
                num_fmt_ulong(off, m->env.rcpts[i].offset);
                clean_cmd('D', m->id, off);
                m->env.rcpts[i].state = 'D';
            }
        m->bounce_failed = 0;
    }
    if (clean_cmd('R', m->id, 0) == -1) {
        log_line("warning: qmail-clean could not remove msg %s; will retry",
                 m->id);
        if (m->unmarked) {
            /* the file stays a while: a crash must not repeat the last
             * delivery, so record it now */
            char off[NUM_FMT_ULONG];
            num_fmt_ulong(off, m->env.rcpts[m->unmarked - 1].offset);
            clean_cmd('D', m->id, off);
            m->unmarked = 0;
        }
        hpush(m, SIZE_MAX, time(0) + 60);
        return;
    }
    log_line("end msg %s", m->id);
    send_msg_remove(m);
    m->dead = 1;
    if (m->qrefs == 0)
        send_msg_free(m);
}

static void maybe_finish(struct send_msg *m)
{
    if (m->todo == 0 && m->inflight == 0)
        finish_msg(m);
}

static int has_failed(const struct send_msg *m)
{
    size_t i;
    for (i = 0; i < m->env.nrcpts; i++)
        if (m->env.rcpts[i].state == 'B')
            return 1;
    return 0;
}

static void mark(struct send_msg *m, size_t i, char state, const char *why)
{
    char off[NUM_FMT_ULONG];
    queue_rcpt *r = &m->env.rcpts[i];

    num_fmt_ulong(off, r->offset);
    if (state == 'B') {
        dstr arg = DSTR_ZERO;
        const char *p;
        if (dstr_catf(&arg, "%s %zu ", off, i) == -1)
            die_nomem();
        for (p = why; *p && arg.len < 900; p++)
            if (dstr_catc(&arg, *p == '\n' || *p == 0 ? ' ' : *p) == -1)
                die_nomem();
        if (dstr_cat0(&arg) == -1)
            die_nomem();
        if (clean_cmd('B', m->id, arg.s) == -1)
            log_line("warning: unable to record failure of %s in msg %s",
                     r->addr, m->id);
        dstr_free(&arg);
        free(m->reason[i]);
        m->reason[i] = strdup(why);
        if (!m->reason[i])
            die_nomem();
    } else if (m->todo > 1 || has_failed(m)) {
        /* the last recipient needs no mark when the file goes away next;
         * with a bounce still to send, a crash must not repeat it */
        if (clean_cmd('D', m->id, off) == -1)
            log_line("warning: unable to mark %s done in msg %s", r->addr,
                     m->id);
    } else {
        m->unmarked = i + 1; /* marked only if the removal fails */
    }
    r->state = state;
    m->where[i] = 0;
    m->todo--;
}

/* Schedule recipient i after a temporary failure, or fail it for good
 * once the message is older than the queue lifetime. */
static void defer(struct send_msg *m, size_t i)
{
    int64_t now = time(0);
    int64_t birth = m->arrival_us / 1000000;

    if (now - birth >= (int64_t)lifetime) {
        log_line("msg %s: to <%s>: failure: message has been in the queue "
                 "longer than the queue lifetime; giving up",
                 m->id, m->env.rcpts[i].addr);
        mark(m, i, 'B',
             "The message has been in the queue too long; giving up. "
             "(#4.4.7)");
        return; /* the caller calls maybe_finish */
    }
    m->lane = LANE_OLD; /* it had its turn: retries queue with the backlog */
    hpush(m, i,
          send_next_try(birth, now,
                        m->chan[i] == 'L' ? SKIP_LOCAL : SKIP_REMOTE));
    m->where[i] = 'H';
}

static void enqueue(struct send_msg *m, size_t i)
{
    qpush(m->chan[i] == 'L' ? &ready_local[m->lane]
                            : &ready_remote[m->lane],
          m, i);
    m->where[i] = 'F';
}

/* Load one message by id into lane; 0 done (or already known / gone),
 * -1 error. */
static int load(const char *id, int lane)
{
    struct send_msg *m;
    dstr path = DSTR_ZERO;
    size_t i;
    int fd;

    if (!queue_id_valid(id) || send_msg_find(id))
        return 0;
    if (queue_mess_path(&path, id) == -1)
        die_nomem();
    fd = open(path.s, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1) {
        int gone = errno == ENOENT;
        if (!gone)
            log_errno("warning: unable to open %s", path.s);
        dstr_free(&path);
        return gone ? 0 : -1;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        log_line("warning: out of memory loading %s; will retry", path.s);
        close(fd);
        dstr_free(&path);
        return -1;
    }
    snprintf(m->id, sizeof m->id, "%s", id);
    if (queue_env_read(fd, &m->env) == -1) {
        log_errno("alert: unable to read envelope of %s; leaving it in "
                  "the queue",
                  path.s);
        close(fd);
        free(m);
        dstr_free(&path);
        return -1;
    }
    close(fd);
    dstr_free(&path);
    m->arrival_us = send_msg_arrival(id);
    if (m->arrival_us == 0)
        m->arrival_us = (int64_t)m->env.birth * 1000000;
    m->chan = calloc(m->env.nrcpts + 1, 1);
    m->reason = calloc(m->env.nrcpts + 1, sizeof *m->reason);
    m->qualified = calloc(m->env.nrcpts + 1, sizeof *m->qualified);
    m->tries = calloc(m->env.nrcpts + 1, 1);
    m->route = calloc(m->env.nrcpts + 1, sizeof *m->route);
    m->where = calloc(m->env.nrcpts + 1, 1);
    if (!m->chan || !m->reason || !m->qualified || !m->tries || !m->route ||
        !m->where)
        die_nomem();
    /* older than we are: a delivery may have been running when our
     * predecessor stopped */
    if (m->arrival_us < start_us)
        memset(m->tries, 1, m->env.nrcpts);
    m->lane = (unsigned char)lane;
    for (i = 0; i < m->env.nrcpts; i++) {
        /* qmail's rule: a recipient without '@' is at envnoathost */
        queue_rcpt *r = &m->env.rcpts[i];
        dstr q = DSTR_ZERO;
        if (strchr(r->addr, '@'))
            continue;
        if (dstr_cats(&q, r->addr) == -1 || dstr_catc(&q, '@') == -1 ||
            dstr_cats(&q, envnoathost.s) == -1 || dstr_cat0(&q) == -1)
            die_nomem();
        m->qualified[i] = q.s;
        r->addr = q.s;
    }
    send_msg_add(m);
    log_line("new msg %s from <%s> size %llu rcpts %zu", id, m->env.sender,
             (unsigned long long)m->env.msglen, m->env.nrcpts);
    for (i = 0; i < m->env.nrcpts; i++) {
        if (m->env.rcpts[i].state != 'T')
            continue;
        m->todo++;
        m->chan[i] = route_classify(&routes, m->env.rcpts[i].addr,
                                    &m->route[i]);
        if (!m->chan[i])
            die_nomem();
        enqueue(m, i);
    }
    maybe_finish(m);
    return 0;
}

/* ---- the scan of queue/mess ------------------------------------------ */

/* A pass walks mess/00 .. mess/63 with one open directory at a time and
 * stops wherever the old lane is full; it resumes as deliveries free
 * room.  Every file present for the whole pass is seen once (readdir's
 * promise); a file that comes or goes during the pass may be missed, and
 * the next pass, SCAN_INTERVAL after this one ends, sees it. */
#define SCAN_BATCH 64      /* envelopes loaded per turn of the main loop */
#define SCAN_ENTRIES 4096  /* directory entries read per turn */

static int scan_bucket = -1; /* -1: no pass running */
static DIR *scan_dir;
static int scan_again;       /* a trigger id was not loaded: scan soon */

static void scan_start(void)
{
    if (scan_bucket >= 0)
        return;
    scan_bucket = 0;
    scan_dir = 0;
    scan_again = 0;
}

/* The next name of the pass into *name; 0 when the pass is over. */
static int scan_next(const char **name)
{
    while (scan_bucket >= 0 && scan_bucket < QUEUE_BUCKETS) {
        struct dirent *e;
        if (!scan_dir) {
            char dir[16];
            snprintf(dir, sizeof dir, "mess/%02d", scan_bucket);
            scan_dir = opendir(dir);
            if (!scan_dir) {
                log_errno("warning: unable to scan queue/%s", dir);
                scan_bucket++;
                continue;
            }
        }
        errno = 0;
        e = readdir(scan_dir);
        if (e) {
            if (e->d_name[0] == '.')
                continue;
            *name = e->d_name;
            return 1;
        }
        if (errno)
            log_errno("warning: unable to scan queue/mess/%02d",
                      scan_bucket);
        closedir(scan_dir);
        scan_dir = 0;
        scan_bucket++;
    }
    scan_bucket = -1;
    return 0;
}

/* Go on with the pass while the old lane has room.  Returns 1 if it
 * stopped only to let the main loop turn (call again at once), 0 if the
 * pass is over or the lane is full.  *ended is set when the pass ends. */
static int scan_resume(int *ended)
{
    size_t loads = 0, entries = 0;
    const char *name;

    *ended = 0;
    if (scan_bucket < 0)
        return 0;
    while (lane_room(LANE_OLD)) {
        if (loads >= SCAN_BATCH || entries >= SCAN_ENTRIES)
            return 1;
        if (!scan_next(&name)) {
            *ended = 1;
            return 0;
        }
        entries++;
        if (queue_id_valid(name) && !send_msg_find(name)) {
            load(name, LANE_OLD);
            loads++;
        }
    }
    return 0;
}

static void scan_tmp(void)
{
    DIR *d = opendir("tmp");
    struct dirent *e;

    if (!d) {
        log_errno("warning: unable to scan queue/tmp");
        return;
    }
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && queue_id_valid(e->d_name))
            clean_cmd('t', e->d_name, 0); /* it checks lock and age */
    closedir(d);
}

/* ---- deliveries ------------------------------------------------------- */

static void start_local(struct send_msg *m, size_t i)
{
    size_t s;
    char num[NUM_FMT_ULONG];
    size_t n;

    for (s = 0; s < concurrency && slots[s].msg; s++)
        ;
    slots[s].msg = m;
    slots[s].rcpt = i;
    m->where[i] = 'S';
    slots[s].start_ms = time_mono_ms();
    m->inflight++;
    active++;
    n = num_fmt_ulong(num, s);
    log_line("starting delivery %zu: msg %s to local <%s>", s, m->id,
             m->env.rcpts[i].addr);
    if (bio_put(&lsout, num, n + 1) == -1 ||
        bio_put(&lsout, m->id, strlen(m->id) + 1) == -1 ||
        bio_put(&lsout, m->env.sender, strlen(m->env.sender) + 1) == -1 ||
        bio_put(&lsout, m->route[i] ? m->route[i] : m->env.rcpts[i].addr,
                strlen(m->route[i] ? m->route[i] : m->env.rcpts[i].addr) +
                    1) == -1 ||
        bio_put(&lsout, m->tries[i] ? "r" : "", m->tries[i] ? 2 : 1) == -1)
        log_die_errno(111, "fatal: unable to talk to qmail-lspawn");
}

/* qmail-lspawn, qmail-clean and qmail-rspawn are our children (qmail-start
 * forked them before it became us): end their input and wait for them,
 * so that a stop leaves nothing behind. */
static void stop_helpers(void)
{
    int64_t deadline = time_mono_ms() + 10000;

    close(FD_TOLSPAWN);
    close(FD_TOCLEAN);
    close(FD_TORSPAWN);
    while (time_mono_ms() < deadline) {
        pid_t pid = waitpid(-1, 0, WNOHANG);
        if (pid == -1 && errno == ECHILD)
            return;
        if (pid <= 0)
            poll(0, 0, 20);
    }
}

/* ---- the remote channel ---------------------------------------------- */

#define REMOTE_BATCH 100 /* recipients per remote delivery */

struct send_dom {
    char *name;               /* lower-case domain */
    size_t active;            /* remote deliveries running to it */
    struct send_fifo waiting; /* ready recipients held back for fairness */
    struct send_dom *next;
};

struct rslot {
    struct send_msg *msg;     /* NULL when free */
    size_t rcpts[REMOTE_BATCH];
    size_t n;
    struct send_dom *dom;
    int64_t start_ms;
};

#define DOM_BUCKETS 4096
static struct send_dom *doms[DOM_BUCKETS];
static struct rslot *rslots;
static size_t ractive;
static bio rsout;
static char rsoutbuf[8192];

/* The domain of recipient i as qmail-remote will see it, lower-cased. */
static void rcpt_domain(const struct send_msg *m, size_t i, dstr *out)
{
    const char *a = m->route[i] ? m->route[i] : m->env.rcpts[i].addr;
    const char *at = strrchr(a, '@');
    out->len = 0;
    if (dstr_cats(out, at ? at + 1 : "") == -1 || dstr_cat0(out) == -1)
        die_nomem();
    dstr_lower(out);
}

static struct send_dom *dom_get(const char *name)
{
    uint32_t h = 2166136261u;
    const char *p;
    struct send_dom *d;

    for (p = name; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    for (d = doms[h % DOM_BUCKETS]; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name)))
        die_nomem();
    d->next = doms[h % DOM_BUCKETS];
    doms[h % DOM_BUCKETS] = d;
    return d;
}

/* At most this many deliveries to one destination, so that one slow
 * domain cannot hold every remote slot. */
static size_t dom_limit(void)
{
    return concurrencyremote > 1 ? concurrencyremote / 2 : 1;
}

static void start_remote(struct send_msg *m, size_t first, struct send_dom *d)
{
    struct rslot *sl;
    char num[NUM_FMT_ULONG];
    dstr dom = DSTR_ZERO, rcpts = DSTR_ZERO, line = DSTR_ZERO;
    size_t s, i, k, n;

    for (s = 0; s < concurrencyremote && rslots[s].msg; s++)
        ;
    sl = &rslots[s];
    sl->msg = m;
    sl->dom = d;
    sl->n = 0;
    sl->start_ms = time_mono_ms();
    /* every ready recipient of this message at this destination goes in
     * the same connection */
    for (k = 0; k <= m->env.nrcpts && sl->n < REMOTE_BATCH; k++) {
        /* first the recipient that was chosen, then the others */
        i = k == 0 ? first : k - 1;
        if (k > 0 && (i == first || m->chan[i] != 'R' || m->where[i] != 'F'))
            continue;
        rcpt_domain(m, i, &dom);
        if (k > 0 && strcmp(dom.s, d->name) != 0)
            continue;
        sl->rcpts[sl->n++] = i;
        m->where[i] = 'S';
        if (rcpts.len && dstr_catc(&rcpts, '\n') == -1)
            die_nomem();
        if (dstr_cats(&rcpts, m->route[i] ? m->route[i]
                                          : m->env.rcpts[i].addr) == -1 ||
            dstr_catf(&line, " <%s>", m->env.rcpts[i].addr) == -1)
            die_nomem();
    }
    if (dstr_cat0(&line) == -1)
        die_nomem();
    m->inflight++;
    d->active++;
    ractive++;
    n = num_fmt_ulong(num, s);
    log_line("starting delivery %zu: msg %s to remote%s", s + CONCURRENCY_MAX,
             m->id, line.s);
    if (bio_put(&rsout, num, n + 1) == -1 ||
        bio_put(&rsout, m->id, strlen(m->id) + 1) == -1 ||
        bio_put(&rsout, m->env.sender, strlen(m->env.sender) + 1) == -1 ||
        bio_put(&rsout, d->name, strlen(d->name) + 1) == -1 ||
        bio_put(&rsout, rcpts.s, rcpts.len) == -1 ||
        bio_put(&rsout, "", 1) == -1)
        log_die_errno(111, "fatal: unable to talk to qmail-rspawn");
    dstr_free(&dom);
    dstr_free(&rcpts);
    dstr_free(&line);
}

static void dispatch_remote(void)
{
    struct send_job j;
    dstr dom = DSTR_ZERO;

    if (!have_remote) {
        /* no qmail-remote: every remote recipient waits */
        while (qpop_lanes(ready_remote, &turn_remote, &j)) {
            if (j.msg->where[j.rcpt] != 'F')
                continue;
            log_line("msg %s: to <%s>: deferral: remote delivery is not "
                     "available (no bin/qmail-remote)",
                     j.msg->id, j.msg->env.rcpts[j.rcpt].addr);
            defer(j.msg, j.rcpt);
            maybe_finish(j.msg);
        }
        return;
    }
    while (ractive < concurrencyremote &&
           qpop_lanes(ready_remote, &turn_remote, &j)) {
        struct send_dom *d;
        if (j.msg->where[j.rcpt] != 'F')
            continue; /* went out with another recipient's delivery */
        rcpt_domain(j.msg, j.rcpt, &dom);
        d = dom_get(dom.s);
        if (d->active >= dom_limit()) {
            qpush(&d->waiting, j.msg, j.rcpt);
            nwait++;
            j.msg->where[j.rcpt] = 'W';
            continue;
        }
        start_remote(j.msg, j.rcpt, d);
    }
    dstr_free(&dom);
    if (bio_flush(&rsout) == -1)
        log_die_errno(111, "fatal: unable to talk to qmail-rspawn");
}

static void dispatch(void)
{
    struct send_job j;

    if (stopping)
        return;
    while (active < concurrency &&
           qpop_lanes(ready_local, &turn_local, &j)) {
        if (j.msg->where[j.rcpt] != 'F')
            continue;
        start_local(j.msg, j.rcpt);
    }
    if (bio_flush(&lsout) == -1)
        log_die_errno(111, "fatal: unable to talk to qmail-lspawn");
    dispatch_remote();
}

/* One recipient's outcome, from either channel. */
static void outcome(struct send_msg *m, size_t i, const char *chan,
                    unsigned long long num, char status, const char *text,
                    double took)
{
    switch (status) {
    case 'K':
        log_line("delivery %llu: msg %s to <%s>: success: %s; took %.3fs "
                 "delay %.3fs",
                 num, m->id, m->env.rcpts[i].addr, text, took,
                 age_seconds(m));
        mark(m, i, 'D', 0);
        break;
    case 'D':
        log_line("delivery %llu: msg %s to <%s>: failure: %s", num, m->id,
                 m->env.rcpts[i].addr, text);
        mark(m, i, 'B', text);
        break;
    default:
        log_line("delivery %llu: msg %s to <%s>: deferral: %s", num, m->id,
                 m->env.rcpts[i].addr, text);
        m->tries[i] = 1; /* part of it may have been delivered */
        defer(m, i);
        break;
    }
    (void)chan;
}

/* The replies of one remote delivery: "num\0" then a record per
 * recipient.  Returns bytes used, 0 if incomplete. */
static size_t rspawn_result(const char *buf, size_t len)
{
    const char *z = memchr(buf, 0, len), *p;
    unsigned long long num;
    struct rslot *sl;
    struct send_msg *m;
    size_t k;
    double took;

    if (!z)
        return 0;
    if (num_scan_ulong_str(buf, &num) == -1 || num >= CONCURRENCY_MAX ||
        !rslots[num].msg)
        log_die(111, "fatal: garbled reply from qmail-rspawn");
    sl = &rslots[num];
    /* all the recipient records must be here */
    p = z + 1;
    for (k = 0; k < sl->n; k++) {
        const char *e = memchr(p, 0, len - (size_t)(p - buf));
        if (!e)
            return 0;
        p = e + 1;
    }
    m = sl->msg;
    took = (double)(time_mono_ms() - sl->start_ms) / 1000.0;
    sl->msg = 0;
    ractive--;
    m->inflight--;
    sl->dom->active--;
    p = z + 1;
    for (k = 0; k < sl->n; k++) {
        outcome(m, sl->rcpts[k], "remote", num + CONCURRENCY_MAX, p[0],
                p[0] ? p + 1 : "", took);
        p += strlen(p) + 1;
    }
    /* slots for this destination are free: let that many waiting go */
    {
        struct send_job j;
        size_t room = dom_limit() > sl->dom->active
                          ? dom_limit() - sl->dom->active
                          : 0;
        size_t before = sl->dom->waiting.n;
        while (room > 0 && qpop(&sl->dom->waiting, &j))
            if (j.msg->where[j.rcpt] == 'W') {
                enqueue(j.msg, j.rcpt);
                room--;
            }
        nwait -= before - sl->dom->waiting.n;
    }
    maybe_finish(m);
    return (size_t)(p - buf);
}

static void read_rspawn(dstr *pending)
{
    char buf[8192];
    ssize_t r = read(FD_FROMRSPAWN, buf, sizeof buf);
    size_t start = 0, used;

    if (r == 0)
        log_die(111, "fatal: qmail-rspawn went away");
    if (r == -1) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        log_die_errno(111, "fatal: unable to read from qmail-rspawn");
    }
    if (dstr_catb(pending, buf, (size_t)r) == -1)
        die_nomem();
    while (start < pending->len &&
           (used = rspawn_result(pending->s + start, pending->len - start)))
        start += used;
    memmove(pending->s, pending->s + start, pending->len - start);
    pending->len -= start;
    if (pending->len > 4 * 1024 * 1024)
        log_die(111, "fatal: overlong reply from qmail-rspawn");
}

static void lspawn_result(unsigned long long num, const char *res)
{
    struct slot *sl;
    struct send_msg *m;
    size_t i;
    double took;

    if (num >= CONCURRENCY_MAX || !slots[num].msg)
        log_die(111, "fatal: qmail-lspawn reported an unknown delivery");
    sl = &slots[num];
    m = sl->msg;
    i = sl->rcpt;
    sl->msg = 0;
    active--;
    m->inflight--;
    took = (double)(time_mono_ms() - sl->start_ms) / 1000.0;
    outcome(m, i, "local", num, res[0], res[0] ? res + 1 : "", took);
    maybe_finish(m);
}

/* Read replies from qmail-lspawn: "<num>\0<status><text>\0". */
static void read_lspawn(dstr *pending)
{
    char buf[8192];
    ssize_t r = read(FD_FROMLSPAWN, buf, sizeof buf);
    size_t start = 0;

    if (r == 0)
        log_die(111, "fatal: qmail-lspawn went away");
    if (r == -1) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        log_die_errno(111, "fatal: unable to read from qmail-lspawn");
    }
    if (dstr_catb(pending, buf, (size_t)r) == -1)
        die_nomem();
    for (;;) {
        char *a = pending->s + start;
        size_t left = pending->len - start;
        char *z1 = memchr(a, 0, left), *z2;
        unsigned long long num;

        if (!z1)
            break;
        z2 = memchr(z1 + 1, 0, left - (size_t)(z1 + 1 - a));
        if (!z2)
            break;
        if (num_scan_ulong_str(a, &num) == -1)
            log_die(111, "fatal: garbled reply from qmail-lspawn");
        lspawn_result(num, z1 + 1);
        start = (size_t)(z2 + 1 - pending->s);
    }
    memmove(pending->s, pending->s + start, pending->len - start);
    pending->len -= start;
    if (pending->len > 16384)
        log_die(111, "fatal: overlong reply from qmail-lspawn");
}

/* Ids written by qmail-queue to the trigger FIFO, one per line. */
static void read_trigger(int fd, dstr *pending)
{
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    size_t i, start = 0;

    if (r <= 0)
        return;
    if (dstr_catb(pending, buf, (size_t)r) == -1)
        die_nomem();
    for (i = 0; i < pending->len; i++)
        if (pending->s[i] == '\n') {
            pending->s[i] = 0;
            if (i - start <= QUEUE_ID_MAX) {
                /* new mail goes ahead of the backlog; when even the new
                 * lane is full, the scan finds it (soon) */
                if (lane_room(LANE_NEW))
                    load(pending->s + start, LANE_NEW);
                else
                    scan_again = 1;
            }
            start = i + 1;
        }
    memmove(pending->s, pending->s + start, pending->len - start);
    pending->len -= start;
    if (pending->len > QUEUE_ID_MAX)
        pending->len = 0; /* garbage: drop it, the scan catches up */
}

static void run_due(int everything)
{
    const struct send_job *top;
    struct send_job j;
    int64_t now = time(0);
    size_t k;

    /* a flush makes every entry due now, once: a retry pushed back while
     * we run (a bounce that fails again) waits for its own time */
    if (everything)
        for (k = 0; k < later.n; k++)
            if (later.v[k].when > now)
                later.v[k].when = now; /* a clamp keeps the heap order */
    while ((top = send_heap_top(&later)) && top->when <= now) {
        send_heap_pop(&later, &j);
        if (release(j.msg))
            continue;
        if (j.rcpt == SIZE_MAX)
            finish_msg(j.msg); /* a bounce or removal to retry */
        else if (j.msg->where[j.rcpt] == 'H')
            enqueue(j.msg, j.rcpt);
    }
}

int main(int argc, char **argv)
{
    dstr trig = DSTR_ZERO, lsin = DSTR_ZERO, rsin = DSTR_ZERO;
    int trigfd, trigkeep, sigfd, lockfd;
    int64_t next_scan, next_tmp_scan;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-send");
    signal(SIGPIPE, SIG_IGN);
    /* our bounces are never held by inflow control: we clear the flag */
    qqueue_never_hold();
    if (qhome_chdir() == -1)
        log_die_errno(111, "fatal: unable to chdir to %s", qhome_dir());
    if (snprintf(bindir, sizeof bindir, "%s", qhome_bindir()) >=
        (int)sizeof bindir)
        log_die(111, "fatal: bin directory path too long");
    read_controls(1);
    homefd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (homefd == -1)
        log_die_errno(111, "fatal: unable to open %s", qhome_dir());
    if (chdir("queue") == -1)
        log_die_errno(111, "fatal: unable to chdir to %s/queue",
                      qhome_dir());
    lockfd = open("lock/sendlock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd == -1)
        log_die_errno(111, "fatal: unable to open queue/lock/sendlock");
    if (flock(lockfd, LOCK_EX | LOCK_NB) == -1)
        log_die(111, "fatal: another qmail-send is running on this queue");
    inflow_open();
    trigfd = open("lock/trigger", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (trigfd == -1)
        log_die_errno(111, "fatal: unable to open queue/lock/trigger");
    /* hold a writer open so the FIFO never reports end of file */
    trigkeep = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (trigkeep == -1)
        log_die_errno(111, "fatal: unable to open queue/lock/trigger");
    sigfd = sig_selfpipe_init();
    if (sigfd == -1 || sig_selfpipe_catch(SIGTERM) == -1 ||
        sig_selfpipe_catch(SIGALRM) == -1 || sig_selfpipe_catch(SIGHUP) == -1)
        log_die_errno(111, "fatal: signal setup");
    slots = calloc(CONCURRENCY_MAX, sizeof *slots);
    if (!slots)
        die_nomem();
    {
        int fd;
        /* children (qmail-queue for bounces) must not hold our pipes */
        for (fd = FD_TOLSPAWN; fd <= FD_FROMCLEAN; fd++)
            if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
                log_die_errno(111, "fatal: descriptor %d is not open; "
                                   "run qmail-send through qmail-start",
                              fd);
    }
    {
        char prog[PATH_MAX + 16];
        snprintf(prog, sizeof prog, "%s/qmail-remote", bindir);
        have_remote = fcntl(FD_TORSPAWN, F_SETFD, FD_CLOEXEC) == 0 &&
                      fcntl(FD_FROMRSPAWN, F_SETFD, FD_CLOEXEC) == 0 &&
                      access(prog, X_OK) == 0;
        if (have_remote)
            fcntl(FD_FROMRSPAWN, F_SETFL, O_NONBLOCK);
    }
    rslots = calloc(CONCURRENCY_MAX, sizeof *rslots);
    if (!rslots)
        die_nomem();
    {
        /* everything is open: from here on only the queue, control/
         * and the qmail-queue for bounces (sandbox.h) */
        char qq[PATH_MAX + 16];
        snprintf(qq, sizeof qq, "%s/qmail-queue", bindir);
        if (sandbox_enter(&sandbox_send, qhome_dir(), 0, qq) == -1)
            log_die(111, "fatal: unable to enter the sandbox");
    }
    bio_init(&rsout, FD_TORSPAWN, rsoutbuf, sizeof rsoutbuf, 0);
    fcntl(FD_FROMLSPAWN, F_SETFL, O_NONBLOCK);
    bio_init(&lsout, FD_TOLSPAWN, lsoutbuf, sizeof lsoutbuf, 0);

    log_line("status: starting, queue %s/queue, concurrency %llu local, "
             "%llu remote%s",
             qhome_dir(), concurrency, concurrencyremote,
             have_remote ? "" : " (no remote delivery: bin/qmail-remote or "
                                "qmail-rspawn missing)");
    start_us = time_real_us();
    scan_tmp();
    scan_start(); /* loaded as slots free up, by the main loop */
    next_scan = time_mono_ms() + SCAN_INTERVAL * 1000;
    next_tmp_scan = time_mono_ms() + TMP_SCAN_INTERVAL * 1000;
    log_line("status: ready, scanning queue/mess");

    for (;;) {
        struct pollfd p[4];
        const struct send_job *top;
        int64_t now_ms, wait_ms;
        int sig, more = 0, ended = 0;

        run_due(0);
        if (!stopping)
            more = scan_resume(&ended);
        dispatch();
        inflow_update();
        if (stopping && active == 0 && ractive == 0) {
            log_line("status: exiting, %zu message(s) in memory",
                     send_msg_count());
            inflow_write(0);
            stop_helpers();
            _exit(0);
        }
        now_ms = time_mono_ms();
        if (ended)
            next_scan = now_ms + SCAN_INTERVAL * 1000;
        if (scan_bucket < 0 && !stopping &&
            (now_ms >= next_scan || scan_again)) {
            scan_start();
            more = 1;
        }
        if (now_ms >= next_tmp_scan) {
            scan_tmp();
            next_tmp_scan = now_ms + TMP_SCAN_INTERVAL * 1000;
        }
        /* a running pass goes on as soon as deliveries free room */
        if (scan_bucket >= 0 && !stopping && lane_room(LANE_OLD))
            more = 1;
        wait_ms = scan_bucket < 0 ? next_scan - now_ms : 60000;
        if (more)
            wait_ms = 0;
        top = send_heap_top(&later);
        if (top) {
            int64_t t = (top->when - (int64_t)time(0)) * 1000;
            if (t < wait_ms)
                wait_ms = t < 0 ? 0 : t;
        }
        if (wait_ms < 0)
            wait_ms = 0;
        if (wait_ms > 60000)
            wait_ms = 60000;
        p[0].fd = sigfd;
        p[0].events = POLLIN;
        p[1].fd = FD_FROMLSPAWN;
        p[1].events = POLLIN;
        p[2].fd = have_remote ? FD_FROMRSPAWN : -1;
        p[2].events = POLLIN;
        p[3].fd = stopping ? -1 : trigfd;
        p[3].events = POLLIN;
        if (poll(p, 4, (int)wait_ms) == -1) {
            if (errno != EINTR)
                log_die_errno(111, "fatal: poll");
            continue;
        }
        while ((sig = sig_selfpipe_read())) {
            if (sig == SIGTERM && !stopping) {
                stopping = 1;
                log_line("status: stopping after %zu running deliveries",
                         active);
            } else if (sig == SIGALRM) {
                log_line("status: retrying all deferred deliveries now");
                run_due(1);
            } else if (sig == SIGHUP) {
                if (fchdir(homefd) == -1)
                    log_die_errno(111, "fatal: unable to return to %s",
                                  qhome_dir());
                read_controls(0);
                if (chdir("queue") == -1)
                    log_die_errno(111, "fatal: unable to chdir to queue");
                log_line("status: control files reread, concurrency %llu",
                         concurrency);
            }
        }
        if (p[1].revents)
            read_lspawn(&lsin);
        if (p[2].revents)
            read_rspawn(&rsin);
        if (!stopping && (p[3].revents & POLLIN))
            read_trigger(trigfd, &trig);
    }
}
