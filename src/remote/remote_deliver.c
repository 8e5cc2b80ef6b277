/*
 * remote_deliver.c: route, resolve, connect, talk.  See remote_deliver.h.
 */
#include "remote_deliver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "remote_conn.h"
#include "remote_dns.h"
#include "log.h"
#include "remote_hosts.h"
#include "remote_qmtp.h"
#include "remote_route.h"
#include "remote_tcpto.h"

static unsigned rnd(void *arg, unsigned bound)
{
    unsigned v;

    (void)arg;
    if (bound <= 1)
        return 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (unsigned)time(0) ^ (unsigned)clock();
    return v % bound;
}

/* Decide all undecided recipients alike. */
static int decide_all(remote_job *job, char status, const dstr *text)
{
    size_t i;

    for (i = 0; i < job->nrcpts; i++)
        if (!job->out[i].status &&
            remote_outcome_set(&job->out[i], status, text) == -1)
            return -1;
    return 0;
}

/* The message record: the summary status, with the text of the first
 * recipient that has it. */
static int summarize(remote_job *job, remote_outcome *msg)
{
    char st = remote_out_summary(job->out, job->nrcpts);
    size_t i;

    for (i = 0; i < job->nrcpts; i++)
        if (job->out[i].status == st)
            return remote_outcome_set(msg, st, &job->out[i].text);
    msg->status = st;
    return dstr_copys(&msg->text, "no recipients");
}

static int note(dstr *summary, const char *who, const char *what)
{
    if (summary->len && remote_out_texts(summary, "; ") == -1)
        return -1;
    if (remote_out_texts(summary, who) == -1 ||
        remote_out_texts(summary, what) == -1)
        return -1;
    return 0;
}

static const char *connect_text(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return ": connection timed out";
    case ECONNREFUSED:
        return ": connection refused";
    case ENETUNREACH:
        return ": network unreachable";
    case EHOSTUNREACH:
        return ": host unreachable";
    default:
        return 0;
    }
}

/* Try plan's addresses in turn, speaking SMTP, or QMTP when qmtp is set
 * (QMTP connections do not use the tcpto file, which is per address: a
 * closed QMTP port must not make the SMTP fallback skip a live host).
 * Returns 0 when the recipients were decided, or -1.  With unreached
 * not NULL (QMTP with a fallback), returns 1 without deciding anything
 * when no address accepted a connection, and says why in unreached. */
static int try_targets(const char *domain, const remote_conf *conf,
                       remote_plan *plan, remote_job *job, int qmtp,
                       dstr *unreached)
{
    dstr summary = DSTR_ZERO, why = DSTR_ZERO, text = DSTR_ZERO;
    size_t i;
    int allperm = 1, tried = 0, r = -1;

    for (i = 0; i < plan->n; i++) {
        const remote_target *t = &plan->t[i];
        char ip[REMOTE_IP_FMT], who[REMOTE_NAME_MAX + REMOTE_IP_FMT + 4];
        int64_t now = (int64_t)time(0);
        int fd, res;

        remote_ip_fmt(&t->ip, ip);
        if (t->name[0])
            snprintf(who, sizeof who, "%s [%s]", t->name, ip);
        else
            snprintf(who, sizeof who, "[%s]", ip);
        if (!qmtp && remote_tcpto_dead(REMOTE_TCPTO_PATH, &t->ip, now, 0)) {
            allperm = 0;
            if (note(&summary, who,
                     ": not tried, it did not answer recently") == -1)
                goto done;
            continue;
        }
        fd = remote_connect(&t->ip, t->port,
                            remote_conf_src(conf, t->ip.family),
                            conf->timeoutconnect);
        if (fd == -1) {
            int err = errno;
            const char *what = connect_text(err);
            allperm = 0;
            if (!qmtp && (err == ECONNREFUSED || err == ETIMEDOUT))
                remote_tcpto_failed(REMOTE_TCPTO_PATH, &t->ip, now);
            if (what ? note(&summary, who, what) == -1
                     : note(&summary, who, ": cannot connect: ") == -1 ||
                           remote_out_texts(&summary, strerror(err)) == -1)
                goto done;
            continue;
        }
        if (!qmtp)
            remote_tcpto_ok(REMOTE_TCPTO_PATH, &t->ip);
        tried = 1;
        res = qmtp ? remote_qmtp(fd, who, job, &why)
                   : remote_smtp(fd, who, job, &why);
        if (res == -1)
            goto done;
        if (res == REMOTE_SMTP_DONE) {
            r = 0;
            goto done;
        }
        if (res == REMOTE_SMTP_NEXT_TEMP)
            allperm = 0;
        if (summary.len && remote_out_texts(&summary, "; ") == -1)
            goto done;
        if (dstr_cat(&summary, &why) == -1)
            goto done;
    }
    if (unreached && !tried) {
        r = dstr_copy(unreached, &summary) == -1 ? -1 : 1;
        goto done;
    }
    /* nobody took the message */
    if (dstr_copys(&text, qmtp ? "Unable to deliver by QMTP to any host of "
                               : "Unable to deliver to any host of ") == -1 ||
        remote_out_texts(&text, domain) == -1 ||
        remote_out_texts(&text, ": ") == -1 ||
        remote_out_text(&text, summary.s, summary.len) == -1 ||
        /* when they all refused with 5xx, their replies carry the
         * status codes: add none of ours */
        remote_out_texts(&text, tried && allperm ? "" : " (#4.4.1)") == -1)
        goto done;
    r = decide_all(job, tried && allperm ? 'D' : 'Z', &text);
done:
    dstr_free(&summary);
    dstr_free(&why);
    dstr_free(&text);
    return r;
}

/* Resolve rt for domain and try its addresses (see try_targets).
 * Returns 0 when the recipients were decided, 1 when QMTP reached no
 * host (only with unreached), -1 when out of memory. */
static int deliver_route(const char *domain, const remote_conf *conf,
                         const remote_route *rt, remote_job *job, int qmtp,
                         dstr *unreached)
{
    remote_dns *dns = 0;
    remote_plan *plan = 0;
    dstr what = DSTR_ZERO, text = DSTR_ZERO;
    int r = -1;

    if (remote_hosts_need_dns(domain, rt)) {
        dns = remote_dns_new(&conf->dnsservers, conf->timeoutdns, &what);
        if (!dns) {
            if (dstr_copys(&text, "DNS: ") == -1 ||
                remote_out_text(&text, what.s, what.len) == -1 ||
                dstr_cats(&text, " (#4.3.0)") == -1 ||
                decide_all(job, 'Z', &text) == -1)
                goto done;
            r = 0;
            goto done;
        }
    }
    plan = calloc(1, sizeof *plan);
    if (!plan || remote_hosts_plan(plan, domain, rt, dns, rnd, 0) == -1)
        goto done;
    /* the answers are in: the resolver's threads are not needed any more */
    remote_dns_free(dns);
    dns = 0;
    if (plan->status) {
        text.len = 0;
        if (remote_out_text(&text, plan->why.s, plan->why.len) == -1 ||
            decide_all(job, plan->status, &text) == -1)
            goto done;
        r = 0;
    } else {
        r = try_targets(domain, conf, plan, job, qmtp, unreached);
    }
done:
    remote_dns_free(dns);
    if (plan)
        dstr_free(&plan->why);
    free(plan);
    dstr_free(&what);
    dstr_free(&text);
    return r;
}

/* A malformed line of control/FILE matched: everything waits. */
static int bad_route(remote_job *job, const char *file, const dstr *what)
{
    dstr text = DSTR_ZERO;
    int r = -1;

    if (dstr_copys(&text, "control/") == -1 ||
        dstr_cats(&text, file) == -1 ||
        dstr_cats(&text, ": malformed line: ") == -1 ||
        remote_out_text(&text, what->s, what->len) == -1 ||
        dstr_cats(&text, " (#4.3.5)") == -1 ||
        decide_all(job, 'Z', &text) == -1)
        goto done;
    r = 0;
done:
    dstr_free(&text);
    return r;
}

int remote_deliver(const char *domain, const remote_conf *conf,
                   remote_job *job, remote_outcome *msg)
{
    remote_route rt = {0, DSTR_ZERO, 0};
    dstr what = DSTR_ZERO, unreached = DSTR_ZERO;
    size_t i;
    int r = -1, any = 0, found;

    job->helohost = conf->helohost.s;
    job->timeout = conf->timeoutremote;
    for (i = 0; i < job->nrcpts; i++)
        if (!job->out[i].status)
            any = 1;
    if (!any)
        goto summary;
    /* QMTP first when control/qmtproutes names the domain */
    found = remote_route_find_port(&conf->qmtproutes, domain,
                                   REMOTE_QMTP_PORT, &rt, &what);
    if (found == -1) {
        if (errno != EINVAL || bad_route(job, "qmtproutes", &what) == -1)
            goto done;
        goto summary;
    }
    if (found == 1) {
        int q = deliver_route(domain, conf, &rt, job, 1,
                              conf->qmtpfallback ? &unreached : 0);
        if (q == -1)
            goto done;
        if (q == 0)
            goto summary;
        if (dstr_cat0(&unreached) == -1)
            goto done;
        log_line("%s: no QMTP host answered (%s): delivering by SMTP",
                 domain, unreached.s);
    }
    if (remote_route_find(&conf->smtproutes, domain, &rt, &what) == -1) {
        if (errno != EINVAL || bad_route(job, "smtproutes", &what) == -1)
            goto done;
        goto summary;
    }
    if (deliver_route(domain, conf, &rt, job, 0, 0) == -1)
        goto done;
summary:
    r = summarize(job, msg);
done:
    remote_route_free(&rt);
    dstr_free(&what);
    dstr_free(&unreached);
    return r;
}
