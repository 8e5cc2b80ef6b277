/*
 * msgcopy: a sealed in-memory copy of a queued message's text, for the
 * delivery programs.  The queue file also holds the envelope (every
 * recipient, Bcc included), so no delivery program gets the file itself.
 */
#ifndef MSGCOPY_H
#define MSGCOPY_H

#include <stdint.h>

/* Open queue file path (relative to queue/), check its header, and return
 * a memfd positioned at 0 holding exactly the message; *msglen gets its
 * length.  -1 with errno on failure (EINVAL: damaged file, EPROTO:
 * truncated). */
int msgcopy_open(const char *path, uint64_t *msglen);
/* For a delivery child in queue/: put the copy of message id on fd 0.
 * Returns 0, or -1 after logging why. */
int msgcopy_stdin(const char *id, uint64_t *msglen);

#endif
