/* qhome.c: the instance's home and the binaries' directory. */
#include "qhome.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *qhome_dir(void)
{
    const char *h;

    /* A set-id program (qmail-queue in a root install) must not let its
     * caller choose the directory it writes into. */
    if (getuid() != geteuid() || getgid() != getegid())
        return QHOME_DEFAULT;
    h = getenv("QMAILHOME");
    return h && *h ? h : QHOME_DEFAULT;
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
