/*
 * inject_conf.c: settings from control files and the environment.  See
 * inject_conf.h.
 *
 * An environment variable that names a setting is used instead of its
 * control file, and the file is then not even read (as in qmail).
 */
#include "inject_conf.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "env.h"

/* The first non-empty variable of a NULL-terminated list, or NULL. */
static const char *first_env(const char *const *names)
{
    for (; *names; names++) {
        const char *v = env_get(*names);
        if (v && *v)
            return v;
    }
    return 0;
}

/* Drop control characters (a value must not break a header line). */
static int copy_clean(dstr *out, const char *s)
{
    out->len = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 32 || c == 127)
            continue;
        if (dstr_catc(out, (char)c) == -1)
            return -1;
    }
    return dstr_cat0(out);
}

/* Setting from env variable envname, else control file path, else def. */
static int setting(dstr *out, const char *envname, const char *path,
                   const dstr *def, const char **failed)
{
    const char *v = envname ? env_get(envname) : 0;
    int r;

    if (v && *v)
        return copy_clean(out, v);
    r = control_readline(path, out, 0);
    if (r == -1) {
        *failed = path;
        return -1;
    }
    if (r == 0 && dstr_copy(out, def) == -1)
        return -1;
    return dstr_cat0(out);
}

int inject_conf_load(inject_conf *c, const char *fullname,
                     const char **failed)
{
    static const char *const user_vars[] = {"QMAILUSER", "MAILUSER", "USER",
                                            "LOGNAME", 0};
    static const char *const host_vars[] = {"QMAILHOST", "MAILHOST", 0};
    static const char *const name_vars[] = {"QMAILNAME", "MAILNAME", "NAME",
                                            0};
    dstr localhost = DSTR_ZERO;
    const char *v;
    int r = -1;

    *failed = 0;
    if (dstr_cats(&localhost, "localhost") == -1)
        return -1;
    if (control_readline("control/me", &c->me, 0) == -1) {
        *failed = "control/me";
        goto done;
    }
    if (dstr_cat0(&c->me) == -1)
        goto done;
    if (setting(&c->defaulthost, "QMAILDEFAULTHOST", "control/defaulthost",
                c->me.len ? &c->me : &localhost, failed) == -1 ||
        setting(&c->defaultdomain, "QMAILDEFAULTDOMAIN",
                "control/defaultdomain", &c->me, failed) == -1 ||
        setting(&c->plusdomain, "QMAILPLUSDOMAIN", "control/plusdomain",
                &c->me, failed) == -1)
        goto done;

    v = first_env(host_vars);
    if (v ? copy_clean(&c->host, v) == -1
          : (dstr_copy(&c->host, &c->defaulthost) == -1 ||
             dstr_cat0(&c->host) == -1))
        goto done;
    if (setting(&c->idhost, "QMAILIDHOST", "control/idhost",
                c->me.len ? &c->me : &c->host, failed) == -1)
        goto done;

    v = first_env(user_vars);
    if (!v) {
        struct passwd *pw = getpwuid(getuid());
        v = pw && pw->pw_name && *pw->pw_name ? pw->pw_name : 0;
    }
    c->have_user = v != 0;
    if (copy_clean(&c->user, v ? v : "") == -1)
        goto done;

    v = fullname ? fullname : first_env(name_vars);
    if (copy_clean(&c->name, v ? v : "") == -1)
        goto done;

    v = env_get("QMAILSUSER");
    if (v && *v ? copy_clean(&c->suser, v) == -1
                : (dstr_copy(&c->suser, &c->user) == -1 ||
                   dstr_cat0(&c->suser) == -1))
        goto done;
    v = env_get("QMAILSHOST");
    if (v && *v ? copy_clean(&c->shost, v) == -1
                : (dstr_copy(&c->shost, &c->host) == -1 ||
                   dstr_cat0(&c->shost) == -1))
        goto done;

    v = env_get("QMAILINJECT");
    for (; v && *v; v++) {
        switch (*v) {
        case 'c': c->flag_comment = 1; break;
        case 'f': c->flag_drop_from = 1; break;
        case 'i': c->flag_drop_msgid = 1; break;
        case 's': c->flag_no_retpath = 1; break;
        default: break; /* other letters (r, m: VERP) are not supported */
        }
    }
    r = 0;
done:
    dstr_free(&localhost);
    return r;
}

void inject_conf_free(inject_conf *c)
{
    dstr_free(&c->me);
    dstr_free(&c->defaulthost);
    dstr_free(&c->defaultdomain);
    dstr_free(&c->plusdomain);
    dstr_free(&c->idhost);
    dstr_free(&c->user);
    dstr_free(&c->host);
    dstr_free(&c->name);
    dstr_free(&c->suser);
    dstr_free(&c->shost);
}

void inject_conf_qual(inject_conf *c, inject_qual *q)
{
    q->defaulthost = c->defaulthost.s ? c->defaulthost.s : "localhost";
    q->defaultdomain = c->defaultdomain.s ? c->defaultdomain.s : "";
    q->plusdomain = c->plusdomain.s ? c->plusdomain.s : "";
}
