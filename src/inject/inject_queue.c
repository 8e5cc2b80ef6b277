/*
 * inject_queue.c: which program qmail-inject hands the message to.  See
 * inject_queue.h; running it is src/mail/qqueue.c's job.
 */
#include "inject_queue.h"

#include <errno.h>
#include <string.h>

#include "env.h"
#include "qhome.h"

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
