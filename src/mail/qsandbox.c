/*
 * qsandbox.c: the sandbox of the servers that queue mail; see qsandbox.h.
 */
#include "qsandbox.h"

#include "dstr.h"
#include "env.h"
#include "qqueue.h"

int qsandbox_enter(const sandbox_profile *base)
{
    sandbox_profile sp = *base;
    dstr qq = DSTR_ZERO;
    int r;

    if (qqueue_mini() == 1)
        sp.flags |= SANDBOX_TCP | SANDBOX_INET;
    if (env_get("QMAILQUEUE"))
        sp.flags |= SANDBOX_FOREIGN_EXEC; /* a filter: any paths */
    if (qqueue_program(&qq) == -1)
        return -1;
    r = sandbox_enter(&sp, ".", 0, qq.s);
    dstr_free(&qq);
    return r;
}
