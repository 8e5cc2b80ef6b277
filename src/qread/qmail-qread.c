/*
 * qmail-qread: list the queue, one line per message (arrival time, id,
 * size, sender) followed by one line per recipient with its state:
 *   "  todo    <rcpt>"   not delivered yet
 *   "  done    <rcpt>"   delivered
 *   "  failed  <rcpt>"   failed, bounce pending; the reason follows
 * Reads $QMAILHOME/queue; needs read access to the queue files.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "qhome.h"
#include "qread_scan.h"

static void show(const char *id, const queue_env *env, void *arg)
{
    char when[64];
    time_t t = (time_t)env->birth;
    struct tm tm;
    size_t i;

    (void)arg;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("%s  %s  %llu bytes  from <%s>\n", when, id,
           (unsigned long long)env->msglen, env->sender);
    for (i = 0; i < env->nrcpts; i++) {
        const queue_rcpt *r = &env->rcpts[i];
        printf("  %-6s  %s\n",
               r->state == 'T' ? "todo" : r->state == 'D' ? "done" : "failed",
               r->addr);
        if (r->state == 'B' && r->reason)
            printf("          %s\n", r->reason);
    }
}

int main(int argc, char **argv)
{
    unsigned long bad;
    int r;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-qread");
    if (qhome_chdir() == -1 || chdir("queue") == -1)
        log_die_errno(111, "fatal: unable to chdir to %s/queue", qhome_dir());
    r = qread_scan(show, 0, &bad);
    if (fflush(stdout) == EOF)
        log_die_errno(111, "fatal: unable to write output");
    return r == -1 || bad ? 111 : 0;
}
