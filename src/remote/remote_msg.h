/*
 * remote_msg: the message qmail-remote sends, from fd 0.
 *
 * qmail-rspawn may hand over a regular file (or a memfd) or a pipe.  A
 * regular file is read in place with pread() from the offset fd 0 had;
 * anything else is first copied into an anonymous memory file, so the
 * message can be sent again to the next host after a failure.  One pass
 * over it finds the size on the wire (for SIZE) and whether it has 8-bit
 * bytes (for BODY=8BITMIME).
 *
 * Trust: the message is from anyone, but it is only copied and encoded,
 * never interpreted.
 */
#ifndef REMOTE_MSG_H
#define REMOTE_MSG_H

#include <stdint.h>
#include <sys/types.h>

typedef struct remote_msg {
    int fd;             /* readable with pread */
    off_t base;         /* where the message starts in fd */
    uint64_t len;       /* bytes of the message as queued */
    uint64_t size;      /* RFC 1870 size of the encoded message */
    int eightbit;
} remote_msg;

/* Take the message from fd (read until end of file; each read must make
 * progress within timeout seconds).  Returns 0, or -1 with errno. */
int remote_msg_open(int fd, int timeout, remote_msg *m);
/* Read up to n bytes at offset off of the message.  Returns the bytes
 * read (0 at the end), or -1 with errno. */
long remote_msg_read(const remote_msg *m, uint64_t off, char *buf,
                     size_t n);

#endif
