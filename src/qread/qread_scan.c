/* qread_scan.c: walk queue/mess.  See qread_scan.h. */
#include "qread_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "dstr.h"
#include "log.h"

int qread_scan(qread_fn *fn, void *arg, unsigned long *bad)
{
    char dir[16];
    dstr path = DSTR_ZERO;
    unsigned b;
    int r = 0;

    *bad = 0;
    for (b = 0; b < QUEUE_BUCKETS; b++) {
        DIR *d;
        struct dirent *e;

        snprintf(dir, sizeof dir, "mess/%02u", b);
        d = opendir(dir);
        if (!d) {
            log_errno("unable to read queue/%s", dir);
            r = -1;
            continue;
        }
        while ((e = readdir(d))) {
            queue_env env;
            int fd;

            if (!queue_id_valid(e->d_name))
                continue;
            if (queue_mess_path(&path, e->d_name) == -1)
                log_die(111, "out of memory");
            fd = open(path.s, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd == -1) {
                if (errno != ENOENT) { /* ENOENT: delivered meanwhile */
                    log_errno("unable to open queue/%s", path.s);
                    ++*bad;
                }
                continue;
            }
            if (queue_env_read(fd, &env) == -1) {
                log_errno("unable to read queue/%s", path.s);
                ++*bad;
                close(fd);
                continue;
            }
            close(fd);
            fn(e->d_name, &env, arg);
            queue_env_free(&env);
        }
        closedir(d);
    }
    dstr_free(&path);
    return r;
}

unsigned long qread_count_tmp(void)
{
    DIR *d = opendir("tmp");
    struct dirent *e;
    unsigned long n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (queue_id_valid(e->d_name))
            n++;
    closedir(d);
    return n;
}
