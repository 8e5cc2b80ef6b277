/*
 * inject_queue.c: start qmail-queue and hand it message and envelope.  See
 * inject_queue.h.
 */
#include "inject_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bio.h"
#include "env.h"
#include "qhome.h"
#include "sig.h"

int inject_queue_program(dstr *out, const char *cwd)
{
    const char *env = env_get("QMAILQUEUE");
    const char *bindir;

    out->len = 0;
    if (env && *env) {
        if (env[0] != '/' && cwd &&
            (dstr_cats(out, cwd) == -1 || dstr_catc(out, '/') == -1))
            return -1;
        if (dstr_cats(out, env) == -1)
            return -1;
        return dstr_cat0(out);
    }
    bindir = qhome_bindir();
    if (!*bindir) {
        errno = ENOENT;
        return -1;
    }
    if (dstr_cats(out, bindir) == -1 || dstr_cats(out, "/qmail-queue") == -1)
        return -1;
    return dstr_cat0(out);
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

int inject_queue_start(inject_queue *q, const char *prog)
{
    int msg[2] = {-1, -1}, env[2] = {-1, -1}, err[2] = {-1, -1};
    int child_errno = 0, saved;
    ssize_t r;
    pid_t pid;

    q->pid = -1;
    q->msgfd = q->envfd = -1;
    if (pipe2(msg, O_CLOEXEC) == -1 || pipe2(env, O_CLOEXEC) == -1 ||
        pipe2(err, O_CLOEXEC) == -1)
        goto fail;
    pid = fork();
    if (pid == -1)
        goto fail;
    if (pid == 0) {
        char *argv[2];
        int e;
        /* dup2 clears close-on-exec on 0 and 1; the rest stays closed */
        if (dup2(msg[0], 0) == -1 || dup2(env[0], 1) == -1) {
            e = errno;
            (void)!write(err[1], &e, sizeof e);
            _exit(127);
        }
        sig_default(SIGPIPE); /* ignored signals survive exec */
        argv[0] = (char *)prog;
        argv[1] = 0;
        execv(prog, argv);
        e = errno;
        (void)!write(err[1], &e, sizeof e);
        _exit(127);
    }
    close(msg[0]);
    close(env[0]);
    close(err[1]);
    msg[0] = env[0] = err[1] = -1;
    do
        r = read(err[0], &child_errno, sizeof child_errno);
    while (r == -1 && errno == EINTR);
    close(err[0]);
    err[0] = -1;
    if (r == (ssize_t)sizeof child_errno) {
        while (waitpid(pid, 0, 0) == -1 && errno == EINTR)
            ;
        close_pair(msg);
        close_pair(env);
        errno = child_errno;
        return -1;
    }
    q->pid = pid;
    q->msgfd = msg[1];
    q->envfd = env[1];
    return 0;
fail:
    saved = errno;
    close_pair(msg);
    close_pair(env);
    close_pair(err);
    errno = saved;
    return -1;
}

int inject_queue_finish(inject_queue *q, const dstr *env)
{
    int status;

    if (q->msgfd >= 0)
        close(q->msgfd);
    q->msgfd = -1;
    if (env && env->len)
        (void)fd_write_all(q->envfd, env->s, env->len, 0);
    /* a write error means qmail-queue went away: its exit code says why */
    if (q->envfd >= 0)
        close(q->envfd);
    q->envfd = -1;
    while (waitpid(q->pid, &status, 0) == -1) {
        if (errno != EINTR)
            return -1;
    }
    q->pid = -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 256 + WTERMSIG(status);
    return -1;
}
