/*
 * inject_conf: the settings of one injection, from control files and the
 * environment (qmail-inject(8) names and precedence).
 *
 * The current directory must be $QMAILHOME.  A missing control file means
 * its default; an unreadable one is an error reported by name.
 *
 * Callers: inject_run.c.  Trust: the environment and control files belong
 * to the submitting user and the administrator.
 */
#ifndef INJECT_CONF_H
#define INJECT_CONF_H

#include "dstr.h"
#include "inject_addr.h"

typedef struct inject_conf {
    dstr me;            /* control/me */
    dstr defaulthost;   /* QMAILDEFAULTHOST, control/defaulthost, me */
    dstr defaultdomain; /* QMAILDEFAULTDOMAIN, control/defaultdomain, me */
    dstr plusdomain;    /* QMAILPLUSDOMAIN, control/plusdomain, me */
    dstr idhost;        /* QMAILIDHOST, control/idhost, me, host */
    dstr user;          /* QMAILUSER, MAILUSER, USER, LOGNAME, passwd */
    dstr host;          /* QMAILHOST, MAILHOST, defaulthost */
    dstr name;          /* -F, QMAILNAME, MAILNAME, NAME */
    dstr suser;         /* QMAILSUSER, else user */
    dstr shost;         /* QMAILSHOST, else host */
    int have_user;      /* user could be determined */
    /* QMAILINJECT letters */
    int flag_comment;   /* c: From in address-comment form */
    int flag_drop_from; /* f: delete an incoming From */
    int flag_drop_msgid;/* i: delete an incoming Message-ID */
    int flag_no_retpath;/* s: ignore an incoming Return-Path */
} inject_conf;

/* Fill c (zeroed before).  fullname (-F) overrides the name variables when
 * not NULL.  Returns 0, or -1 with errno; *failed is then the control file
 * that could not be read, or NULL when memory ran out. */
int inject_conf_load(inject_conf *c, const char *fullname,
                     const char **failed);
void inject_conf_free(inject_conf *c);
/* The qualification settings (pointers into c, which must stay alive). */
void inject_conf_qual(inject_conf *c, inject_qual *q);

#endif
