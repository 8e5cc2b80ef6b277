/*
 * control: read qmail control files.
 *
 * Semantics kept from qmail: a missing file means the default; a file that
 * exists but cannot be read is an error (-1, errno set), never silently the
 * default.  Trailing white space (spaces, tabs, CR) is removed from every
 * line.  Files larger than CONTROL_MAX_BYTES are refused (EFBIG).
 *
 * Paths are relative to the current directory, which programs set to
 * $QMAILHOME.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include "dstr.h"

#define CONTROL_MAX_BYTES (16 * 1024 * 1024)

/* First line of the file.  Returns 1 if read from the file, 0 if the default
 * was used (missing file, or an empty first line), -1 on error.  def may be
 * NULL: then out is left empty on 0. */
int control_readline(const char *path, dstr *out, const char *def);
/* First line as an unsigned number.  Returns 1 / 0 (default) / -1; a first
 * line that is not a number is an error (EINVAL). */
int control_readulong(const char *path, unsigned long long *out,
                      unsigned long long def);
/* Every non-empty line that does not start with '#', each terminated by a
 * NUL byte in out (qmail's "control file as a list").  Returns 1 if read,
 * 0 if missing (out empty), -1 on error. */
int control_readlist(const char *path, dstr *out);
/* Whole file, raw.  Returns 1 / 0 (missing) / -1. */
int control_readfile(const char *path, dstr *out);

/* For programs that read many files and report the first failure as one
 * line "what: reason" in err (the servers' configuration loaders):
 * control_err() fills err from errno and returns -1 (errno kept);
 * control_number() is control_readulong(); control_list_lower() is
 * control_readlist() lower-cased, with *missing (if not NULL) set to 1
 * when the file is absent.  Each returns 0, or -1 after control_err(). */
int control_err(dstr *err, const char *what);
int control_number(const char *path, unsigned long long *out,
                   unsigned long long def, dstr *err);
int control_list_lower(const char *path, dstr *out, int *missing, dstr *err);

/* Iterate a NUL-separated list: for (p = list_first(d); p; p = list_next(d, p)) */
const char *list_first(const dstr *d);
const char *list_next(const dstr *d, const char *p);

#endif
