/*
 * cdbmap: look a key up in a cdb file (through tinycdb).
 */
#ifndef CDBMAP_H
#define CDBMAP_H

#include <stddef.h>
#include "dstr.h"

/* Returns 1 and sets value when found, 0 when the key (or the file) is
 * missing, -1 on error (errno set). */
int cdbmap_lookup(const char *path, const void *key, size_t keylen,
                  dstr *value);
/* Build path atomically from NUL-separated "key\0value\0" pairs in pairs.
 * Returns 0 or -1. */
int cdbmap_make(const char *path, const dstr *pairs);

#endif
