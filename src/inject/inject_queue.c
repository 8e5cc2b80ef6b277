/*
 * inject_queue.c: which program qmail-inject hands the message to.  See
 * inject_queue.h; running it is src/mail/qqueue.c's job.
 */
#include "inject_queue.h"

#include <errno.h>
#include <string.h>

#include "env.h"
#include "qqueue.h"

int inject_queue_program(dstr *out, const char *cwd)
{
    const char *env = env_get("QMAILQUEUE");

    out->len = 0;
    if (env && *env) {
        if (env[0] != '/' && cwd &&
            (dstr_cats(out, cwd) == -1 || dstr_catc(out, '/') == -1))
            return -1;
        if (dstr_cats(out, env) == -1)
            return -1;
        return dstr_cat0(out);
    }
    /* qmail-queue, or qmail-qmqpc on a mini-qmail host */
    return qqueue_default_program(out);
}
