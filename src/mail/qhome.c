/* qhome.c: the instance's home and the binaries' directory.  See qhome.h. */
#include "qhome.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_setid(void)
{
    return getuid() != geteuid() || getgid() != getegid();
}

/* Owned by root and writable by no one else. */
static int root_only(const struct stat *st)
{
    return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

const char *qhome_installed(void)
{
    static char home[PATH_MAX];
    static int done;
    char path[PATH_MAX + sizeof QHOME_MARKER + 1];
    const char *bindir;
    struct stat st;
    ssize_t n;
    int fd;

    if (done)
        return home[0] ? home : 0;
    done = 1;
    bindir = qhome_bindir();
    if (!*bindir || strlen(bindir) + sizeof QHOME_MARKER + 1 > sizeof path)
        return 0;
    memcpy(path, bindir, strlen(bindir));
    path[strlen(bindir)] = '/';
    memcpy(path + strlen(bindir) + 1, QHOME_MARKER, sizeof QHOME_MARKER);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1)
        return 0;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        (is_setid() && !root_only(&st))) {
        close(fd);
        return 0;
    }
    n = read(fd, home, sizeof home - 1);
    close(fd);
    if (n <= 0) {
        home[0] = 0;
        return 0;
    }
    home[n] = 0;
    /* one line holding an absolute path */
    while (n > 0 && (home[n - 1] == '\n' || home[n - 1] == ' '))
        home[--n] = 0;
    if (home[0] != '/' || memchr(home, '\n', (size_t)n) ||
        strlen(home) != (size_t)n) {
        home[0] = 0;
        return 0;
    }
    if (is_setid() && (stat(bindir, &st) == -1 || !root_only(&st))) {
        home[0] = 0;
        return 0;
    }
    return home;
}

const char *qhome_dir(void)
{
    const char *h;

    /* A set-id program (qmail-queue in a root install) must not let its
     * caller choose the directory it writes into. */
    if (!is_setid()) {
        h = getenv("QMAILHOME");
        if (h && *h)
            return h;
    }
    h = qhome_installed();
    return h ? h : QHOME_DEFAULT;
}

int qhome_chdir(void)
{
    char abs[PATH_MAX];

    if (chdir(qhome_dir()) == -1)
        return -1;
    /* Children (qmail-queue, qmail-local...) resolve $QMAILHOME again from
     * wherever they run: hand them the absolute path. */
    if (getcwd(abs, sizeof abs) && setenv("QMAILHOME", abs, 1) == -1)
        return -1;
    return 0;
}

const char *qhome_bindir(void)
{
    static char dir[PATH_MAX];
    ssize_t n;
    char *slash;

    if (dir[0])
        return dir;
    n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) {
        dir[0] = 0;
        return dir;
    }
    dir[n] = 0;
    slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        dir[0] = 0;
    return dir;
}
