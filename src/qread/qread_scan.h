/*
 * qread_scan: walk the queue for the inspection tools.  Calls fn for each
 * complete message (queue/mess/NN/ID) with its parsed envelope; counts
 * files still being written in queue/tmp.
 */
#ifndef QREAD_SCAN_H
#define QREAD_SCAN_H

#include "queue.h"

typedef void qread_fn(const char *id, const queue_env *env, void *arg);

/* Returns 0, or -1 if a directory could not be read (reported on stderr).
 * Unreadable messages are reported and skipped; *bad counts them. */
int qread_scan(qread_fn *fn, void *arg, unsigned long *bad);
unsigned long qread_count_tmp(void);

#endif
