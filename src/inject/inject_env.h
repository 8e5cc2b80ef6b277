/*
 * inject_env: the envelope handed to qmail-queue on its fd 1:
 *
 *   F<sender>\0 T<rcpt>\0 ... \0
 *
 * A recipient named twice (same bytes) is sent once.  Addresses must not
 * hold NUL bytes; the caller checks them and their length first.
 *
 * Callers: inject_run.c.
 */
#ifndef INJECT_ENV_H
#define INJECT_ENV_H

#include <stddef.h>

#include "dstr.h"

typedef struct inject_env {
    dstr buf;           /* the records */
    size_t nrcpts;
    size_t *slots;      /* hash set: 1 + offset of a T record, 0 = empty */
    size_t nslots;
} inject_env;

#define INJECT_ENV_ZERO {DSTR_ZERO, 0, 0, 0}

/* The F record; call it first, once.  len 0 is the null sender. */
int inject_env_sender(inject_env *e, const char *s, size_t len);
/* Add a T record.  Returns 1 if added, 0 if already there, -1 on error. */
int inject_env_rcpt(inject_env *e, const char *s, size_t len);
/* The closing empty record. */
int inject_env_finish(inject_env *e);
void inject_env_free(inject_env *e);

#endif
