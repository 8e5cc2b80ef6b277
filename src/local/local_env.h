/*
 * local_env: the environment qmail-local gives delivery programs
 * (qmail-command(8) names): SENDER, NEWSENDER, RECIPIENT, USER, HOME,
 * HOST, HOST2-4, LOCAL, EXT, EXT2-4, DEFAULT, DTLINE, RPLINE, UFLINE.
 */
#ifndef LOCAL_ENV_H
#define LOCAL_ENV_H

#include "env.h"

struct local_ctx {
    const char *user, *home, *local, *dash, *ext, *domain;
    const char *sender, *newsender;
    const char *deflt;      /* part of EXT matched by -default, or NULL */
    const char *dtline;     /* "Delivered-To: local@domain\n" */
    const char *rpline;     /* "Return-Path: <sender>\n" */
    const char *ufline;     /* "From sender date\n" */
};

/* Start from the inherited environment, then set every variable above. */
int local_env_build(envbuild *e, const struct local_ctx *c);

#endif
