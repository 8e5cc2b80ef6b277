/* remote_conf.c: qmail-remote's control files.  See remote_conf.h. */
#include "remote_conf.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "control.h"

static int err_file(dstr *err, const char *file, const char *what)
{
    int saved = errno;

    dstr_copys(err, "control/");
    dstr_cats(err, file);
    dstr_cats(err, ": ");
    dstr_cats(err, what ? what : strerror(saved));
    return -1;
}

static int timeout(const char *file, int *out, unsigned long long def,
                   dstr *err)
{
    unsigned long long v;
    dstr path = DSTR_ZERO;
    int r;

    if (dstr_copys(&path, "control/") == -1 || dstr_cats(&path, file) == -1 ||
        dstr_cat0(&path) == -1) {
        dstr_free(&path);
        return err_file(err, file, 0);
    }
    r = control_readulong(path.s, &v, def);
    dstr_free(&path);
    if (r == -1)
        return err_file(err, file, errno == EINVAL ? "not a number" : 0);
    if (v < 1)
        v = 1;
    if (v > 86400)
        v = 86400;
    *out = (int)v;
    return 0;
}

static int hostname_ok(const dstr *h)
{
    size_t i;

    if (h->len == 0 || h->len > 255)
        return 0;
    for (i = 0; i < h->len; i++) {
        unsigned char c = (unsigned char)h->s[i];
        if (c <= 32 || c >= 127)
            return 0;
    }
    return 1;
}

int remote_conf_read(remote_conf *c, dstr *err)
{
    dstr list = DSTR_ZERO;
    const char *p;
    int r;

    if (timeout("timeoutconnect", &c->timeoutconnect, 60, err) == -1 ||
        timeout("timeoutremote", &c->timeoutremote, 1200, err) == -1 ||
        timeout("timeoutdns", &c->timeoutdns, 30, err) == -1)
        return -1;
    r = control_readline("control/helohost", &c->helohost, 0);
    if (r == -1)
        return err_file(err, "helohost", 0);
    if (r == 0) {
        r = control_readline("control/me", &c->helohost, 0);
        if (r == -1)
            return err_file(err, "me", 0);
        if (r == 0)
            return err_file(err, "me", "missing (and no control/helohost)");
    }
    if (!hostname_ok(&c->helohost))
        return err_file(err, "helohost", "not a valid host name");
    if (dstr_cat0(&c->helohost) == -1)
        return err_file(err, "helohost", 0);
    if (control_readlist("control/smtproutes", &c->smtproutes) == -1)
        return err_file(err, "smtproutes", 0);
    if (control_readlist("control/qmtproutes", &c->qmtproutes) == -1)
        return err_file(err, "qmtproutes", 0);
    {
        unsigned long long v;
        r = control_readulong("control/qmtpfallback", &v, 1);
        if (r == -1 || v > 1)
            return err_file(err, "qmtpfallback",
                            r == -1 && errno != EINVAL ? 0 : "not 0 or 1");
        c->qmtpfallback = (int)v;
    }
    if (control_readlist("control/dnsservers", &c->dnsservers) == -1)
        return err_file(err, "dnsservers", 0);
    if (control_readlist("control/outgoingip", &list) == -1)
        return err_file(err, "outgoingip", 0);
    c->have_src4 = c->have_src6 = 0;
    for (p = list_first(&list); p; p = list_next(&list, p)) {
        remote_ip ip;
        if (remote_ip_parse(p, strlen(p), &ip) == -1) {
            dstr_free(&list);
            return err_file(err, "outgoingip", "not an IP address");
        }
        if (ip.family == AF_INET && !c->have_src4) {
            c->src4 = ip;
            c->have_src4 = 1;
        } else if (ip.family == AF_INET6 && !c->have_src6) {
            c->src6 = ip;
            c->have_src6 = 1;
        }
    }
    dstr_free(&list);
    return 0;
}

void remote_conf_free(remote_conf *c)
{
    dstr_free(&c->helohost);
    dstr_free(&c->smtproutes);
    dstr_free(&c->qmtproutes);
    dstr_free(&c->dnsservers);
}

const remote_ip *remote_conf_src(const remote_conf *c, int family)
{
    if (family == AF_INET && c->have_src4)
        return &c->src4;
    if (family == AF_INET6 && c->have_src6)
        return &c->src6;
    return 0;
}
