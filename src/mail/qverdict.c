/*
 * qverdict.c: qmail-queue's result as an answer to the client.  See
 * qverdict.h.
 */
#include "qverdict.h"

#include "qqueue.h"
#include "queue.h"

char qverdict(int code, int failed, const char **text)
{
    if (code == 0 && !failed) {
        *text = "ok";
        return QVERDICT_OK;
    }
    if (code == 0) {
        *text = "qmail-queue write error";
        return QVERDICT_TEMP;
    }
    if (code >= 11 && code <= 40) {
        *text = queue_exit_text(code);
        return QVERDICT_PERM;
    }
    if (code < 256) {
        *text = queue_exit_text(code);
        return QVERDICT_TEMP;
    }
    *text = code == QQUEUE_TIMEOUT   ? "qmail-queue did not finish in time"
            : code == QQUEUE_WAITERR ? "qmail-queue was lost"
                                     : "qmail-queue crashed";
    return QVERDICT_TEMP;
}
