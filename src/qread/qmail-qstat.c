/*
 * qmail-qstat: summarize the queue: messages queued, recipients still to
 * deliver, and messages being written right now (queue/tmp).
 */
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "qhome.h"
#include "qread_scan.h"

struct totals {
    unsigned long msgs, todo;
};

static void count(const char *id, const queue_env *env, void *arg)
{
    struct totals *t = arg;
    size_t i;

    (void)id;
    t->msgs++;
    for (i = 0; i < env->nrcpts; i++)
        if (env->rcpts[i].state == 'T')
            t->todo++;
}

int main(int argc, char **argv)
{
    struct totals t = {0, 0};
    unsigned long bad;
    int r;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-qstat");
    if (qhome_chdir() == -1 || chdir("queue") == -1)
        log_die_errno(111, "fatal: unable to chdir to %s/queue", qhome_dir());
    r = qread_scan(count, &t, &bad);
    printf("messages in queue: %lu\n", t.msgs);
    printf("recipients to deliver: %lu\n", t.todo);
    printf("messages being written: %lu\n", qread_count_tmp());
    if (fflush(stdout) == EOF)
        log_die_errno(111, "fatal: unable to write output");
    return r == -1 || bad ? 111 : 0;
}
