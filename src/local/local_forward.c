/*
 * local_forward.c: forward lines of a .qmail file.  All forwards of one
 * delivery go out as one new message through qmail-queue: our
 * Delivered-To line (so a forwarding loop is detected wherever it closes)
 * and the message, from NEWSENDER to every forward address.
 */
#include "local_deliver.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bio.h"
#include "dstr.h"
#include "local_msg.h"
#include "qhome.h"
#include "queue.h"

int local_forward(const char *dtline, const char *newsender,
                  const char *rcpts, size_t rcptslen, char *why,
                  size_t whysize, int *perm)
{
    char prog[PATH_MAX], buf[65536];
    const char *qq = getenv("QMAILQUEUE");
    int mp[2] = {-1, -1}, ep[2] = {-1, -1}, status, wrote = -1;
    dstr env = DSTR_ZERO;
    pid_t pid;
    long r;
    size_t i;

    *perm = 0;
    if (dstr_catc(&env, 'F') == -1 || dstr_cats(&env, newsender) == -1 ||
        dstr_catc(&env, 0) == -1)
        goto nomem;
    for (i = 0; i < rcptslen;) {
        const char *a = rcpts + i;
        size_t alen = strlen(a);
        if (dstr_catc(&env, 'T') == -1 || dstr_catb(&env, a, alen + 1) == -1)
            goto nomem;
        i += alen + 1;
    }
    if (dstr_catc(&env, 0) == -1)
        goto nomem;
    if (qq && *qq)
        snprintf(prog, sizeof prog, "%s", qq);
    else
        snprintf(prog, sizeof prog, "%s/qmail-queue", qhome_bindir());
    if (pipe(mp) == -1 || pipe(ep) == -1) {
        snprintf(why, whysize, "unable to create pipe: %s (#4.3.0)",
                 strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid == -1) {
        snprintf(why, whysize, "unable to fork: %s (#4.3.0)",
                 strerror(errno));
        goto out;
    }
    if (pid == 0) {
        char *argv[] = {prog, 0};
        if (dup2(mp[0], 0) == -1 || dup2(ep[0], 1) == -1)
            _exit(QQ_BUG);
        close(mp[0]);
        close(mp[1]);
        close(ep[0]);
        close(ep[1]);
        signal(SIGPIPE, SIG_DFL);
        execv(prog, argv);
        _exit(QQ_BUG);
    }
    close(mp[0]);
    close(ep[0]);
    mp[0] = ep[0] = -1;
    signal(SIGPIPE, SIG_IGN);
    if (fd_write_all(mp[1], dtline, strlen(dtline), 0) == 0) {
        local_msg_rewind();
        while ((r = local_msg_read(buf, sizeof buf)) > 0)
            if (fd_write_all(mp[1], buf, (size_t)r, 0) == -1)
                break;
        if (r == 0) {
            close(mp[1]);
            mp[1] = -1;
            if (fd_write_all(ep[1], env.s, env.len, 0) == 0)
                wrote = 0;
        }
    }
    if (mp[1] != -1)
        close(mp[1]);
    close(ep[1]);
    mp[1] = ep[1] = -1;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            status = QQ_BUG << 8;
            break;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && wrote == 0) {
        dstr_free(&env);
        return 0;
    }
    {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : QQ_BUG;
        *perm = code >= 11 && code <= 40;
        snprintf(why, whysize, "unable to forward: qmail-queue: %s (#%d.3.0)",
                 queue_exit_text(code), *perm ? 5 : 4);
    }
out:
    if (mp[0] != -1)
        close(mp[0]);
    if (mp[1] != -1)
        close(mp[1]);
    if (ep[0] != -1)
        close(ep[0]);
    if (ep[1] != -1)
        close(ep[1]);
    dstr_free(&env);
    return -1;
nomem:
    dstr_free(&env);
    snprintf(why, whysize, "out of memory (#4.3.0)");
    return -1;
}
