/*
 * local_program.c: a "|command" line of a .qmail file.  The command runs
 * as the user (we already are), in the home directory, by /bin/sh -c,
 * with the message on standard input (fd 0, the sealed copy, rewound) and
 * the environment of local_env.  Its output becomes the report.
 *
 * Exit codes (qmail-command(8)): 0 delivered; 99 delivered, and ignore the
 * rest of the .qmail file; 100 and sendmail's permanent codes 64, 65, 70,
 * 76, 77, 78, 112 fail permanently; anything else, a signal included,
 * fails temporarily.
 */
#include "local_deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local_msg.h"

#define REPORT_MAX 1000

/* Keep the first REPORT_MAX bytes of the output, one line. */
static void keep(char *why, size_t whysize, size_t *got, const char *buf,
                 size_t n)
{
    size_t i;
    for (i = 0; i < n && *got < whysize - 1 && *got < REPORT_MAX; i++)
        why[(*got)++] = buf[i] == '\n' || buf[i] == 0 ? ' ' : buf[i];
    why[*got] = 0;
}

int local_program(const char *cmd, char *const envp[], char *why,
                  size_t whysize, int *result)
{
    int pi[2], status = -1;
    size_t got = 0;
    pid_t pid;
    char buf[512];

    *result = LOCAL_PROG_TEMP;
    why[0] = 0;
    if (pipe(pi) == -1) {
        snprintf(why, whysize, "unable to create pipe: %s (#4.3.0)",
                 strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        snprintf(why, whysize, "unable to fork: %s (#4.3.0)",
                 strerror(errno));
        close(pi[0]);
        close(pi[1]);
        return -1;
    }
    if (pid == 0) {
        char *argv[] = {"sh", "-c", (char *)cmd, 0};
        close(pi[0]);
        if (local_msg_fd_rewind() == -1 || dup2(pi[1], 1) == -1 ||
            dup2(pi[1], 2) == -1)
            _exit(111);
        if (pi[1] > 2)
            close(pi[1]);
        signal(SIGPIPE, SIG_DFL);
        execve("/bin/sh", argv, envp);
        _exit(111);
    }
    close(pi[1]);
    fcntl(pi[0], F_SETFL, O_NONBLOCK);
    /* Read the output until the program exits (then what is left): a
     * child it left running in the background may hold the pipe open
     * long after. */
    for (;;) {
        struct pollfd p = {pi[0], POLLIN, 0};
        ssize_t r;
        int exited;

        exited = waitpid(pid, &status, WNOHANG) == pid;
        if (!exited && poll(&p, 1, 200) == -1 && errno != EINTR)
            break;
        while ((r = read(pi[0], buf, sizeof buf)) > 0)
            keep(why, whysize, &got, buf, (size_t)r);
        if (r == 0 || exited)
            break;
    }
    close(pi[0]);
    if (!WIFEXITED(status) && !WIFSIGNALED(status))
        while (waitpid(pid, &status, 0) == -1)
            if (errno != EINTR) {
                snprintf(why, whysize, "unable to wait for program (#4.3.0)");
                return -1;
            }
    while (got && why[got - 1] == ' ')
        why[--got] = 0;
    if (WIFEXITED(status)) {
        switch (WEXITSTATUS(status)) {
        case 0:
            *result = LOCAL_PROG_OK;
            return 0;
        case 99:
            *result = LOCAL_PROG_STOP;
            return 0;
        case 100: case 64: case 65: case 70: case 76: case 77: case 78:
        case 112:
            *result = LOCAL_PROG_PERM;
            break;
        default:
            *result = LOCAL_PROG_TEMP;
        }
        if (got == 0)
            snprintf(why, whysize, "program exited %d (#%d.0.0)",
                     WEXITSTATUS(status),
                     *result == LOCAL_PROG_PERM ? 5 : 4);
        return -1;
    }
    snprintf(why, whysize, "program crashed (signal %d) (#4.3.0)",
             WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}
