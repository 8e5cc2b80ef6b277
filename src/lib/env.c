/* env.c: environment access and construction.  See env.h. */
#include "env.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

const char *env_get(const char *name) { return getenv(name); }

int env_isset(const char *name) { return getenv(name) != 0; }

static int grow(envbuild *e)
{
    size_t ncap;
    char **v;

    if (e->n + 2 <= e->cap)
        return 0;
    ncap = e->cap ? e->cap * 2 : 32;
    if (ncap > SIZE_MAX / sizeof(char *)) {
        errno = ENOMEM;
        return -1;
    }
    v = realloc(e->vec, ncap * sizeof(char *));
    if (!v)
        return -1;
    e->vec = v;
    e->cap = ncap;
    return 0;
}

static int add(envbuild *e, char *entry)
{
    if (grow(e) == -1)
        return -1;
    e->vec[e->n++] = entry;
    e->vec[e->n] = 0;
    return 0;
}

int envbuild_init(envbuild *e, int inherit)
{
    char **p;

    e->vec = 0;
    e->n = e->cap = 0;
    if (grow(e) == -1)
        return -1;
    e->vec[0] = 0;
    if (inherit && environ)
        for (p = environ; *p; p++) {
            char *dup = strdup(*p);
            if (!dup || add(e, dup) == -1) {
                free(dup);
                envbuild_free(e);
                return -1;
            }
        }
    return 0;
}

static long find(const envbuild *e, const char *name, size_t nlen)
{
    size_t i;
    for (i = 0; i < e->n; i++)
        if (strncmp(e->vec[i], name, nlen) == 0 && e->vec[i][nlen] == '=')
            return (long)i;
    return -1;
}

/* Remove every NAME= entry from index from on.  An inherited environment
 * may name a variable twice; a copy left behind would reach the child. */
static void remove_from(envbuild *e, const char *name, size_t nlen,
                        size_t from)
{
    size_t i = from;
    while (i < e->n) {
        if (strncmp(e->vec[i], name, nlen) == 0 && e->vec[i][nlen] == '=') {
            free(e->vec[i]);
            e->vec[i] = e->vec[e->n - 1];
            e->vec[--e->n] = 0;
        } else {
            i++;
        }
    }
}

int envbuild_unset(envbuild *e, const char *name)
{
    remove_from(e, name, strlen(name), 0);
    return 0;
}

int envbuild_setb(envbuild *e, const char *name, const char *value,
                  size_t valuelen)
{
    size_t nlen = strlen(name);
    char *entry;
    long i;

    if (nlen == 0 || memchr(name, '=', nlen) || valuelen > SIZE_MAX - 2 ||
        nlen > SIZE_MAX - 2 - valuelen) {
        errno = EINVAL;
        return -1;
    }
    entry = malloc(nlen + valuelen + 2);
    if (!entry)
        return -1;
    memcpy(entry, name, nlen);
    entry[nlen] = '=';
    if (valuelen) /* value may be NULL then (an empty dstr) */
        memcpy(entry + nlen + 1, value, valuelen);
    entry[nlen + 1 + valuelen] = 0;
    i = find(e, name, nlen);
    if (i >= 0) {
        free(e->vec[i]);
        e->vec[i] = entry;
        remove_from(e, name, nlen, (size_t)i + 1);
        return 0;
    }
    if (add(e, entry) == -1) {
        free(entry);
        return -1;
    }
    return 0;
}

int envbuild_set(envbuild *e, const char *name, const char *value)
{
    return envbuild_setb(e, name, value, strlen(value));
}

void envbuild_free(envbuild *e)
{
    size_t i;
    for (i = 0; i < e->n; i++)
        free(e->vec[i]);
    free(e->vec);
    e->vec = 0;
    e->n = e->cap = 0;
}
