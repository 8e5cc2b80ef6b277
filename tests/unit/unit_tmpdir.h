/*
 * unit_tmpdir.h: scratch directories for Check unit tests (header only).
 *
 * tmpdir_enter() makes a fresh directory under $TMPDIR (or /tmp) and
 * chdir()s into it; tmpdir_leave() goes back and removes it with all its
 * contents.  Use them as a checked fixture: Check runs those inside each
 * forked test, so every test starts in an empty directory of its own.
 */
#ifndef UNIT_TMPDIR_H
#define UNIT_TMPDIR_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir_path[PATH_MAX];
static char tmpdir_old[PATH_MAX];

static inline int tmpdir_rm_one(const char *path, const struct stat *st, int flag,
                         struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        chmod(path, 0700); /* a test may have left it unreadable */
    return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

static inline void tmpdir_enter(void)
{
    const char *base = getenv("TMPDIR");
    int r;

    if (!base || !*base)
        base = "/tmp";
    r = snprintf(tmpdir_path, sizeof tmpdir_path, "%s/qmail-unit.XXXXXX",
                 base);
    ck_assert(r > 0 && (size_t)r < sizeof tmpdir_path);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir_path));
    ck_assert_ptr_nonnull(getcwd(tmpdir_old, sizeof tmpdir_old));
    ck_assert_int_eq(chdir(tmpdir_path), 0);
}

static inline void tmpdir_leave(void)
{
    if (tmpdir_old[0] && chdir(tmpdir_old) == -1) {
        /* nothing useful to do: the directory is removed by path anyway */
    }
    if (tmpdir_path[0])
        nftw(tmpdir_path, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write a whole file (test setup; fails the test on error). */
static inline void tmpdir_put(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    ck_assert_int_eq(close(fd), 0);
}

static inline void tmpdir_puts(const char *path, const char *s)
{
    tmpdir_put(path, s, strlen(s));
}

#endif
