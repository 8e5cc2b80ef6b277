/* qhome.c: the instance's home and the binaries' directory. */
#include "qhome.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *qhome_dir(void)
{
    const char *h = getenv("QMAILHOME");
    return h && *h ? h : QHOME_DEFAULT;
}

int qhome_chdir(void) { return chdir(qhome_dir()); }

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
