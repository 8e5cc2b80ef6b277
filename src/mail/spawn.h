/*
 * spawn: the event loop shared by qmail-lspawn and qmail-rspawn.
 *
 * Requests arrive on fd 0 from qmail-send, SPAWN_FIELDS NUL-terminated
 * fields each, the first being the delivery number.  For each, ops->start
 * either forks a child (spawn_fork) or sets job->prefail.  A child's
 * stdout (and stderr with ops->report_stderr) is its report (at most
 * ops->report_max bytes kept).
 * When it has exited and its report pipe is closed, the reply
 * "num\0" + whatever ops->reply appends is queued for fd 1, which is
 * written without ever blocking, so the spawner and qmail-send cannot
 * deadlock on full pipes.  A job running longer than ops->timeout seconds
 * is killed with its whole process group; once a child has exited its
 * report is awaited at most five more seconds.  Exits 0 when fd 0 ends
 * and every job has been answered.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stdint.h>
#include <sys/types.h>
#include "dstr.h"

#define SPAWN_MAX 1000
#define SPAWN_FIELDS 5

typedef struct spawn_job {
    int used;
    unsigned long long num;
    pid_t pid;
    int outfd;          /* report pipe, -1 once at end of file */
    int exited, status, timed_out;
    int64_t deadline_ms, exited_ms;
    dstr out;           /* the report */
    char prefail[512];  /* why it failed before a child ran ("!" first:
                           permanent) */
    unsigned long count; /* for the spawner's own use */
} spawn_job;

struct spawn_ops {
    size_t field_max;             /* bytes per request field */
    size_t report_max;            /* bytes of report kept */
    unsigned long long timeout;   /* seconds per job */
    int report_stderr;            /* stderr is part of the report (else it
                                     stays our log) */
    void (*start)(spawn_job *j, char **fields);
    void (*reply)(const spawn_job *j, dstr *out);
};

/* Fork the job's child: in it, stdout and stderr are the report pipe and
 * it leads its own process group; returns 0 there.  In the parent returns
 * the pid, or -1 with j->prefail set. */
pid_t spawn_fork(spawn_job *j);
_Noreturn void spawn_main(const struct spawn_ops *ops);

#endif
