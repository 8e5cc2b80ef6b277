/*
 * smtpd_conf.c: read qmail-smtpd's control files and environment.  See
 * smtpd_conf.h; the settings and their defaults are in qmail-smtpd(8).
 *
 * A control file that exists but cannot be read is an error, never the
 * default (control.h): the caller then refuses service with a 421.
 */
#include "smtpd_conf.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "env.h"
#include "num.h"

/* The first line; it goes into replies and the Received line, so a
 * control byte in it (a stray CR) is replaced. */
static int line(const char *path, dstr *out, const char *def, dstr *err)
{
    size_t i;

    if (control_readline(path, out, def) == -1 || dstr_cat0(out) == -1)
        return control_err(err, path);
    for (i = 0; i < out->len; i++)
        if ((unsigned char)out->s[i] < 32 || out->s[i] == 127)
            out->s[i] = '?';
    return 0;
}

/* A number from the environment overrides the control file's. */
static int env_number(const char *name, unsigned long long *out, dstr *err)
{
    const char *v = env_get(name);
    if (!v)
        return 0;
    if (num_scan_ulong_str(v, out) == -1) {
        errno = EINVAL;
        return control_err(err, name);
    }
    return 0;
}

static int clamp_int(unsigned long long v, int max)
{
    return v > (unsigned long long)max ? max : (int)v;
}

static const char *env_or_empty(const char *name)
{
    const char *v = env_get(name);
    return v ? v : "";
}

/* Every control file smtpd_conf_load reads (route_conf_read reads the
 * three routing files), for smtpd_conf_changed. */
static const char *const conf_files[SMTPD_CONF_FILES] = {
    "control/me", "control/smtpgreeting", "control/localiphost",
    "control/badmailfrom", "control/rcpthosts", "control/locals",
    "control/virtualdomains", "control/percenthack", "control/databytes",
    "control/timeoutsmtpd", "control/timeoutsmtpdsession",
    "control/greetdelay", "control/maxrcpt", "control/maxerrors",
    "control/rcptcheck"};

static void stamp_take(const char *path, smtpd_conf_stamp *t)
{
    struct stat st;

    memset(t, 0, sizeof *t);
    if (stat(path, &st) == -1) {
        /* a file that cannot be looked at counts as changed when it can
         * again */
        t->exists = errno == ENOENT ? 0 : -1;
        return;
    }
    t->exists = 1;
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    t->size = st.st_size;
    t->mtime = st.st_mtim;
    t->ctime = st.st_ctim;
}

int smtpd_conf_changed(const smtpd_conf *c)
{
    size_t i;

    for (i = 0; i < SMTPD_CONF_FILES; i++) {
        smtpd_conf_stamp now;
        const smtpd_conf_stamp *was = &c->stamp[i];
        stamp_take(conf_files[i], &now);
        if (now.exists != was->exists || now.exists == -1 ||
            now.dev != was->dev || now.ino != was->ino ||
            now.size != was->size ||
            now.mtime.tv_sec != was->mtime.tv_sec ||
            now.mtime.tv_nsec != was->mtime.tv_nsec ||
            now.ctime.tv_sec != was->ctime.tv_sec ||
            now.ctime.tv_nsec != was->ctime.tv_nsec)
            return 1;
    }
    return 0;
}

int smtpd_conf_env(smtpd_conf *c, dstr *err)
{
    unsigned long long n;
    const char *v;

    /* nothing of an earlier environment survives */
    c->databytes = c->databytes_file;
    c->greetdelay = c->greetdelay_file;
    c->relayclient = 0;
    c->relayclient_value.len = 0;
    c->remoteip = c->remotehost = c->localip = c->localhost = "";

    if (env_number("DATABYTES", &c->databytes, err) == -1)
        return -1;
    n = (unsigned long long)c->greetdelay_file;
    if (env_number("GREETDELAY", &n, err) == -1)
        return -1;
    c->greetdelay = clamp_int(n, 300);

    v = env_get("RELAYCLIENT");
    if (v) {
        if (strlen(v) > SMTPD_RELAYCLIENT_MAX) {
            errno = E2BIG;
            return control_err(err, "RELAYCLIENT");
        }
        if (dstr_copys(&c->relayclient_value, v) == -1 ||
            dstr_cat0(&c->relayclient_value) == -1)
            return control_err(err, "out of memory");
        c->relayclient = 1;
    }
    c->remoteip = env_or_empty("TCPREMOTEIP");
    c->remotehost = env_or_empty("TCPREMOTEHOST");
    c->localip = env_or_empty("TCPLOCALIP");
    c->localhost = env_or_empty("TCPLOCALHOST");
    return 0;
}

int smtpd_conf_load(smtpd_conf *c, dstr *err)
{
    unsigned long long n;
    const char *v;
    size_t i;

    memset(c, 0, sizeof *c);
    /* stamped before they are read: a change in between is seen later */
    for (i = 0; i < SMTPD_CONF_FILES; i++)
        stamp_take(conf_files[i], &c->stamp[i]);
    if (line("control/me", &c->me, "localhost", err) == -1 ||
        line("control/smtpgreeting", &c->greeting, c->me.s, err) == -1 ||
        line("control/localiphost", &c->localiphost, c->me.s, err) == -1)
        return -1;
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

    if (control_number("control/databytes", &c->databytes_file, 0, err) == -1)
        return -1;
    if (control_number("control/timeoutsmtpd", &n, SMTPD_TIMEOUT_DEFAULT,
                       err) == -1)
        return -1;
    c->timeout = n ? clamp_int(n, 86400 * 7) : 1;
    if (control_number("control/timeoutsmtpdsession", &n,
                       SMTPD_SESSION_DEFAULT, err) == -1)
        return -1;
    c->session_timeout = clamp_int(n, 86400 * 365);
    if (control_number("control/greetdelay", &n, SMTPD_GREETDELAY_DEFAULT,
                       err) == -1)
        return -1;
    c->greetdelay_file = clamp_int(n, 300);
    if (control_number("control/maxrcpt", &n, SMTPD_MAXRCPT_DEFAULT,
                       err) == -1)
        return -1;
    c->maxrcpt = n ? (unsigned long)(n > 100000 ? 100000 : n) : 1;
    if (control_number("control/maxerrors", &n, SMTPD_MAXERRORS_DEFAULT,
                       err) == -1)
        return -1;
    c->maxerrors = n ? (unsigned long)(n > 1000000000 ? 1000000000 : n) : 1;
    if (control_number("control/rcptcheck", &n, 1, err) == -1)
        return -1;
    c->rcptcheck = n != 0;

    v = env_get("QMAILSMTPD_SYSTEMUSERS");
    c->system_users = getuid() == 0 || (v && strcmp(v, "1") == 0);
    return smtpd_conf_env(c, err);
}

void smtpd_conf_free(smtpd_conf *c)
{
    dstr_free(&c->me);
    dstr_free(&c->greeting);
    dstr_free(&c->localiphost);
    dstr_free(&c->badmailfrom);
    dstr_free(&c->rcpthosts);
    route_conf_free(&c->route);
    dstr_free(&c->relayclient_value);
}
