/*
 * file: small helpers for files and directories.
 *
 * All descriptors are opened O_CLOEXEC.  Functions return -1 with errno on
 * failure.
 */
#ifndef FILE_H
#define FILE_H

#include <stddef.h>
#include <sys/types.h>
#include "dstr.h"

int file_open_read(const char *path);
/* New file, refusing to follow or replace anything (O_EXCL|O_NOFOLLOW). */
int file_open_excl(const char *path, mode_t mode);
/* Read a whole file (at most max bytes, else EFBIG) into out (replaced). */
int file_read(const char *path, dstr *out, size_t max);
/* Write a whole file atomically: path.tmp.PID, fsync, rename, fsync dir. */
int file_write_atomic(const char *path, const void *data, size_t n,
                      mode_t mode);
/* fsync the directory that holds path (dirname of path). */
int file_fsync_parent(const char *path);
int file_fsync_dir(const char *dir);
/* mkdir -p with mode for each created component; existing dirs are fine. */
int file_mkdirs(const char *path, mode_t mode);
/* 1 if path exists (lstat), 0 if not, -1 on other errors. */
int file_exists(const char *path);

#endif
