/*
 * smtpd_mail.c: MAIL FROM and RCPT TO: parse the path and parameters,
 * apply badmailfrom, SIZE, the relay rules (rcpthosts, RELAYCLIENT) and
 * the recipient check for local domains (mailuser, the lookup local
 * delivery uses), and build the envelope for qmail-queue.
 *
 * Trusts nothing from the client; addresses reach the envelope only after
 * smtpd_addr accepted them (printable ASCII, bounded), so qmail-queue never
 * sees a control character from us.
 */
#include "smtpd_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mailuser.h"
#include "route.h"
#include "num.h"
#include "queue.h"
#include "rcptcheck.h"
#include "smtpd_addr.h"
#include "smtpd_policy.h"

/* "FROM:" / "TO:" and the spaces some clients put after the colon.
 * Returns the index of the path, or -1. */
static long path_start(const char *arg, size_t len, const char *word)
{
    size_t n = strlen(word), i;

    if (len < n || strncasecmp(arg, word, n) != 0)
        return -1;
    for (i = n; i < len && arg[i] == ' '; i++)
        ;
    return (long)i;
}

void smtpd_do_mail(smtpd_session *s, const char *arg, size_t len)
{
    smtpd_conf *c = s->conf;
    smtpd_path path;
    smtpd_param pp;
    unsigned long long size = 0;
    int have_size = 0, have_body = 0, r;
    size_t end, pos;
    long i = path_start(arg, len, "FROM:");

    if (i < 0) {
        smtpd_reply_err(s, "501 5.5.4 syntax: MAIL FROM:<address>");
        return;
    }
    r = smtpd_path_parse(arg + i, len - (size_t)i, SMTPD_PATH_SENDER, &path,
                         &end);
    if (r != SMTPD_PATH_OK) {
        smtpd_reply_err(s, "501 5.1.7 %s",
                        r == SMTPD_PATH_TOOLONG ? "sender address too long"
                                                : "bad sender address syntax");
        return;
    }
    pos = (size_t)i + end;
    while ((r = smtpd_param_next(arg, len, &pos, &pp)) == 1) {
        if (smtpd_param_is(&pp, "SIZE")) {
            if (have_size++ || !pp.value) {
                smtpd_reply_err(s, "501 5.5.4 bad SIZE parameter");
                return;
            }
            if (num_scan_ulong(pp.value, pp.valuelen, &size) == -1) {
                if (errno != ERANGE) {
                    smtpd_reply_err(s, "501 5.5.4 bad SIZE parameter");
                    return;
                }
                size = ULLONG_MAX; /* too big to count: too big */
            }
        } else if (smtpd_param_is(&pp, "BODY")) {
            if (have_body++ || !pp.value ||
                !((pp.valuelen == 4 && !strncasecmp(pp.value, "7BIT", 4)) ||
                  (pp.valuelen == 8 &&
                   !strncasecmp(pp.value, "8BITMIME", 8)))) {
                smtpd_reply_err(s, "501 5.5.4 BODY must be 7BIT or 8BITMIME");
                return;
            }
        } else {
            smtpd_reply_err(s, "555 5.5.4 unsupported MAIL parameter");
            return;
        }
    }
    if (r == -1) {
        smtpd_reply_err(s, "501 5.5.4 bad MAIL parameters");
        return;
    }
    if (c->databytes && size > c->databytes) {
        log_line("%ld: mail from <%s> refused: declared size %llu over "
                 "databytes %llu", s->pid, path.addr, size, c->databytes);
        smtpd_reply_err(s, "552 5.3.4 message too big: the limit is %llu "
                           "bytes", c->databytes);
        return;
    }
    if (smtpd_policy_badmailfrom(c, path.addr, path.len)) {
        log_line("%ld: mail from <%s> refused: badmailfrom", s->pid,
                 path.addr);
        smtpd_reply_err(s, "553 5.7.1 sender refused by this server's "
                           "policy");
        return;
    }
    smtpd_txn_reset(s);
    if (dstr_copyb(&s->sender, path.addr, path.len) == -1 ||
        dstr_cat0(&s->sender) == -1 || dstr_catc(&s->envelope, 'F') == -1 ||
        dstr_catb(&s->envelope, path.addr, path.len + 1) == -1) {
        smtpd_reply(s, "451 4.3.0 out of memory");
        smtpd_session_abort(s, "out of memory");
        return;
    }
    s->state = SMTPD_ST_MAIL;
    log_line("%ld: mail from <%s> accepted (helo %s)", s->pid, path.addr,
             s->helo);
    smtpd_reply(s, "250 2.1.0 sender ok");
}

/* 1 if the address literal lit ("[...]") is the address the client
 * connected to ($TCPLOCALIP). */
static int literal_is_me(const smtpd_conf *c, const char *lit, size_t len)
{
    char buf[64];
    unsigned char a[16], b[16];
    const char *ip = lit + 1;
    size_t n = len - 2;
    int af;

    if (!*c->localip || len < 3)
        return 0;
    af = AF_INET;
    if (n > 5 && strncasecmp(ip, "IPv6:", 5) == 0) {
        af = AF_INET6;
        ip += 5;
        n -= 5;
    }
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, ip, n);
    buf[n] = 0;
    if (inet_pton(af, buf, a) != 1)
        return 0;
    if (inet_pton(af, c->localip, b) == 1)
        return memcmp(a, b, af == AF_INET ? 4 : 16) == 0;
    /* an IPv4 literal and an IPv4-mapped local address, or the reverse */
    if (af == AF_INET && strncasecmp(c->localip, "::ffff:", 7) == 0 &&
        inet_pton(AF_INET, c->localip + 7, b) == 1)
        return memcmp(a, b, 4) == 0;
    return 0;
}

/* The recipient check (rcptcheck.c, shared with qmail-qmtpd).  Returns 0
 * accepted, or -1 when a reply was sent. */
static int check_rcpt(smtpd_session *s, const char *addr)
{
    char why[600];
    int r = rcptcheck_local(&s->conf->route, addr, why, sizeof why);

    if (r == RCPTCHECK_OK)
        return 0;
    if (r == -1) {
        smtpd_reply(s, "451 4.3.0 out of memory");
        smtpd_session_abort(s, "out of memory");
        return -1;
    }
    if (r == RCPTCHECK_UNKNOWN) {
        log_line("%ld: rcpt to <%s> refused: %s", s->pid, addr, why);
        smtpd_reply_err(s, "550 5.1.1 no such user here");
    } else {
        log_line("%ld: rcpt to <%s> deferred: %s", s->pid, addr, why);
        smtpd_reply_err(s, "451 4.3.0 temporary failure looking up the "
                           "recipient; try again later");
    }
    return -1;
}

void smtpd_do_rcpt(smtpd_session *s, const char *arg, size_t len)
{
    smtpd_conf *c = s->conf;
    smtpd_path path;
    smtpd_param pp;
    char addr[QUEUE_ADDR_MAX + 1];
    size_t end, pos, at, alen;
    const char *dom;
    long i = path_start(arg, len, "TO:");
    int r;

    if (i < 0) {
        smtpd_reply_err(s, "501 5.5.4 syntax: RCPT TO:<address>");
        return;
    }
    r = smtpd_path_parse(arg + i, len - (size_t)i, SMTPD_PATH_RCPT, &path,
                         &end);
    if (r != SMTPD_PATH_OK) {
        smtpd_reply_err(s, "501 5.1.3 %s",
                        r == SMTPD_PATH_TOOLONG
                            ? "recipient address too long"
                            : "bad recipient address syntax");
        return;
    }
    pos = (size_t)i + end;
    r = smtpd_param_next(arg, len, &pos, &pp);
    if (r != 0) {
        smtpd_reply_err(s, r == 1 ? "555 5.5.4 unsupported RCPT parameter"
                                  : "501 5.5.4 bad RCPT parameters");
        return;
    }
    if (s->nrcpt >= c->maxrcpt) {
        log_line("%ld: rcpt to <%s> refused: more than %lu recipients",
                 s->pid, path.addr, c->maxrcpt);
        smtpd_reply_err(s, "452 4.5.3 too many recipients");
        return;
    }

    /* the address as it goes into the envelope */
    memcpy(addr, path.addr, path.len + 1);
    alen = path.len;
    at = path.at;
    if (at == alen) {
        /* <postmaster>: always accepted (RFC 5321 4.5.1); qmail-send
         * qualifies it with envnoathost */
        goto accept;
    }
    if (path.literal && literal_is_me(c, addr + at + 1, alen - at - 1)) {
        size_t n = c->localiphost.len;
        if (n > sizeof addr - 1 - (at + 1))
            goto toolong;
        memcpy(addr + at + 1, c->localiphost.s, n + 1);
        alen = at + 1 + n;
    }
    if (c->relayclient) {
        size_t n = c->relayclient_value.len;
        if (n > sizeof addr - 1 - alen)
            goto toolong;
        memcpy(addr + alen, c->relayclient_value.s, n + 1);
        alen += n;
        if (memchr(addr + at + 1, '@', alen - at - 1))
            at = (size_t)((char *)memrchr(addr, '@', alen) - addr);
    } else {
        dom = addr + at + 1;
        r = smtpd_policy_rcpthosts(c, dom, alen - at - 1);
        if (r == -1) {
            log_line("%ld: rcpt to <%s> deferred: unable to read %s: %s",
                     s->pid, addr, SMTPD_MORERCPTHOSTS, strerror(errno));
            smtpd_reply_err(s, "451 4.3.0 temporary configuration error; "
                               "try again later");
            return;
        }
        if (r == 0) {
            log_line("%ld: rcpt to <%s> refused: relaying denied (domain "
                     "not in rcpthosts)", s->pid, addr);
            smtpd_reply_err(s, "553 5.7.1 relaying denied: this server "
                               "does not accept mail for that domain");
            return;
        }
    }
    if (c->rcptcheck && check_rcpt(s, addr) == -1)
        return;
accept:
    if (alen > QUEUE_ADDR_MAX)
        goto toolong;
    if (dstr_catc(&s->envelope, 'T') == -1 ||
        dstr_catb(&s->envelope, addr, alen + 1) == -1) {
        smtpd_reply(s, "451 4.3.0 out of memory");
        smtpd_session_abort(s, "out of memory");
        return;
    }
    s->nrcpt++;
    s->state = SMTPD_ST_RCPT;
    log_line("%ld: rcpt to <%s> accepted%s", s->pid, addr,
             c->relayclient ? " (RELAYCLIENT)" : "");
    smtpd_reply(s, "250 2.1.5 recipient ok");
    return;
toolong:
    smtpd_reply_err(s, "501 5.1.3 recipient address too long");
}
