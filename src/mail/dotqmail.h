/*
 * dotqmail: which .qmail file controls an address (dot-qmail(5)).
 *
 * In the user's home, for extension ext (after dash):
 *   ext empty:  .qmail                      (missing: default delivery)
 *   ext "a-b":  .qmail-a-b, then .qmail-a-default (DEFAULT "b"), then
 *               .qmail-default (DEFAULT "a-b"); none: no such address.
 * The extension is lower-cased and each '.' in it becomes ':' in the file
 * name, so ".qmail-x.y" can never be reached by a crafted extension.
 * qmail-local delivers with this lookup and qmail-smtpd asks it whether
 * an address exists, so the two always agree.
 */
#ifndef DOTQMAIL_H
#define DOTQMAIL_H

#include "dstr.h"

/* Look in directory dir (NULL: the current directory).  Returns 1 and
 * sets name (".qmail..." file name, NUL-terminated) and deflt (the part
 * matched by -default, NUL-terminated, empty when none) when a file
 * exists; 0 when none does; -1 with errno when a file could not be
 * checked (EACCES: cannot tell). */
int dotqmail_find(const char *dir, const char *dash, const char *ext,
                  dstr *name, dstr *deflt);

/* The file name for an exact extension: ".qmail" dash ext' (ext'
 * lower-cased, '.' -> ':'), NUL-terminated. */
int dotqmail_name(dstr *out, const char *dash, const char *ext);

#endif
