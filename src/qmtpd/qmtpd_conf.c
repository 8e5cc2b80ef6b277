/*
 * qmtpd_conf.c: read the control files and environment.  See
 * qmtpd_conf.h.  A control file that exists but cannot be read is an
 * error, never the default (control.h).
 */
#include "qmtpd_conf.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "env.h"
#include "num.h"

static int clamp_int(unsigned long long v, int max)
{
    return v > (unsigned long long)max ? max : (int)v;
}

static const char *env_or_empty(const char *name)
{
    const char *v = env_get(name);
    return v ? v : "";
}

int qmtpd_conf_load(qmtpd_conf *c, dstr *err)
{
    unsigned long long n;
    const char *v;
    size_t i;

    memset(c, 0, sizeof *c);
    if (control_readline("control/me", &c->me, "localhost") == -1 ||
        dstr_cat0(&c->me) == -1)
        return control_err(err, "control/me");
    for (i = 0; i < c->me.len; i++)
        if ((unsigned char)c->me.s[i] < 32 || c->me.s[i] == 127)
            c->me.s[i] = '?';
    if (control_list_lower("control/badmailfrom", &c->badmailfrom, 0,
                           err) == -1 ||
        control_list_lower("control/rcpthosts", &c->rcpthosts,
                           &c->rcpthosts_missing, err) == -1)
        return -1;
    {
        const char *file;
        if (route_conf_read(&c->route, c->me.s, &file) == -1)
            return control_err(err, file);
    }
    if (control_number("control/databytes", &c->databytes, 0, err) == -1)
        return -1;
    v = env_get("DATABYTES");
    if (v && num_scan_ulong_str(v, &c->databytes) == -1) {
        errno = EINVAL;
        return control_err(err, "DATABYTES");
    }
    if (control_number("control/timeoutsmtpd", &n, QMTPD_TIMEOUT_DEFAULT,
                       err) == -1)
        return -1;
    c->timeout = n ? clamp_int(n, 86400 * 7) : 1;
    if (control_number("control/timeoutsmtpdsession", &n,
                       QMTPD_SESSION_DEFAULT, err) == -1)
        return -1;
    c->session_timeout = clamp_int(n, 86400 * 365);
    if (control_number("control/maxrcpt", &n, QMTPD_MAXRCPT_DEFAULT,
                       err) == -1)
        return -1;
    c->maxrcpt = n ? (unsigned long)(n > 100000 ? 100000 : n) : 1;
    if (control_number("control/rcptcheck", &n, 1, err) == -1)
        return -1;
    c->rcptcheck = n != 0;

    v = env_get("QMAILSMTPD_SYSTEMUSERS");
    c->system_users = getuid() == 0 || (v && strcmp(v, "1") == 0);
    v = env_get("RELAYCLIENT");
    if (v) {
        c->relayclient = 1;
        if (strlen(v) > QMTPD_RELAYCLIENT_MAX) {
            errno = E2BIG;
            return control_err(err, "RELAYCLIENT");
        }
        if (dstr_copys(&c->relayclient_value, v) == -1 ||
            dstr_cat0(&c->relayclient_value) == -1)
            return control_err(err, "out of memory");
    }
    c->remoteip = env_or_empty("TCPREMOTEIP");
    c->remotehost = env_or_empty("TCPREMOTEHOST");
    c->localip = env_or_empty("TCPLOCALIP");
    return 0;
}

void qmtpd_conf_free(qmtpd_conf *c)
{
    dstr_free(&c->me);
    dstr_free(&c->badmailfrom);
    dstr_free(&c->rcpthosts);
    route_conf_free(&c->route);
    dstr_free(&c->relayclient_value);
}
