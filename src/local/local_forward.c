/*
 * local_forward.c: forward lines of a .qmail file.  All forwards of one
 * delivery go out as one new message through qmail-queue (qqueue.h): our
 * Delivered-To line (so a forwarding loop is detected wherever it closes)
 * and the message, from NEWSENDER to every forward address.
 */
#include "local_deliver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dstr.h"
#include "local_msg.h"
#include "qqueue.h"
#include "queue.h"

int local_forward(const char *dtline, const char *newsender,
                  const char *rcpts, size_t rcptslen, char *why,
                  size_t whysize, int *perm)
{
    static qqueue q;
    char buf[65536];
    dstr env = DSTR_ZERO, prog = DSTR_ZERO;
    long r;
    size_t i;
    int code;

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
    if (qqueue_program(&prog) == -1 || qqueue_start(&q, prog.s, 0) == -1) {
        snprintf(why, whysize, "unable to run qmail-queue: %s (#4.3.0)",
                 strerror(errno));
        goto fail;
    }
    qqueue_put(&q, dtline, strlen(dtline));
    local_msg_rewind();
    while ((r = local_msg_read(buf, sizeof buf)) > 0)
        qqueue_put(&q, buf, (size_t)r);
    if (r == -1) {
        qqueue_abort(&q);
        snprintf(why, whysize, "unable to read the message: %s (#4.3.0)",
                 strerror(errno));
        goto fail;
    }
    code = qqueue_finish(&q, env.s, env.len);
    if (code == 0 && !q.failed) {
        dstr_free(&env);
        dstr_free(&prog);
        return 0;
    }
    *perm = code >= 11 && code <= 40;
    snprintf(why, whysize, "unable to forward: qmail-queue: %s (#%d.3.0)",
             code <= 255 ? queue_exit_text(code) : "crashed",
             *perm ? 5 : 4);
fail:
    dstr_free(&env);
    dstr_free(&prog);
    return -1;
nomem:
    snprintf(why, whysize, "out of memory (#4.3.0)");
    goto fail;
}
