/*
 * qmail-queue: put one message into the queue, durably.
 *
 * Protocol (qmail's): the message on fd 0, read to end of file; then the
 * envelope on fd 1: "F" sender NUL, "T" recipient NUL for each recipient,
 * and a final NUL.  Exit 0 means the message is on disk, fsync()ed, and
 * visible to qmail-send; any other exit code (queue.h, qmail-queue(8))
 * means nothing was queued.  The work is queue_write.c's, shared with
 * qmail-queued(8), which does the same for clients of its socket.
 *
 * Trust: the message and the envelope come from any local user (or from
 * network servers) and are checked (queue_write.h).  Runs as the caller,
 * or setuid qmailq in a root install; it opens no file named by its input.
 */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "qhome.h"
#include "queue.h"
#include "queue_write.h"

#define QQ_DEADLINE (24 * 3600) /* a whole injection may take a day */

int main(int argc, char **argv)
{
    qwrite_caller who;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-queue");
    umask(027); /* queue files are 0640 whatever the caller's umask */
    signal(SIGPIPE, SIG_IGN);

    if (qhome_chdir() == -1) {
        log_errno("fatal: %s: %s", qhome_dir(), queue_exit_text(QQ_HOME));
        _exit(QQ_HOME);
    }
    if (chdir("queue") == -1) {
        log_errno("fatal: queue: %s", queue_exit_text(QQ_QUEUE_DIR));
        _exit(QQ_QUEUE_DIR);
    }
    who.prog = "qmail-queue";
    who.pid = (long)getpid();
    who.uid = (long)getuid();
    who.timeout = QQ_DEADLINE;
    who.tag = "fatal: ";
    _exit(qwrite(0, 1, &who));
}
