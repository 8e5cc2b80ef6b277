/*
 * env: read the environment and build new ones for child processes.
 *
 * An envbuild holds "NAME=value" strings; envbuild_set replaces an existing
 * NAME.  The vector is suitable for execve().
 */
#ifndef ENV_H
#define ENV_H

#include <stddef.h>

/* getenv() that treats an unset variable and NULL alike. */
const char *env_get(const char *name);
/* 1 if NAME is set at all (even to the empty string). */
int env_isset(const char *name);

typedef struct envbuild {
    char **vec;     /* NULL-terminated */
    size_t n;
    size_t cap;
} envbuild;

#define ENVBUILD_ZERO {0, 0, 0}

/* Start from a copy of environ (or empty when inherit is 0). */
int envbuild_init(envbuild *e, int inherit);
int envbuild_set(envbuild *e, const char *name, const char *value);
int envbuild_setb(envbuild *e, const char *name, const char *value,
                  size_t valuelen);
int envbuild_unset(envbuild *e, const char *name);
void envbuild_free(envbuild *e);

#endif
