/*
 * bio: buffered I/O on a file descriptor, with a deadline on every read and
 * write.  Used for pipes, files and sockets.  Nothing here allocates after
 * bio_init(): the buffer is the caller's.
 *
 * Errors: functions return -1 and set errno; a read or write that did not
 * complete within timeout seconds fails with ETIMEDOUT.  timeout 0 means no
 * deadline.  EINTR is retried.
 */
#ifndef BIO_H
#define BIO_H

#include <stddef.h>
#include "dstr.h"

typedef struct bio {
    int fd;
    char *buf;
    size_t cap;
    size_t pos;     /* read: next unread byte; write: unused */
    size_t len;     /* read: bytes valid in buf; write: bytes pending */
    int timeout;    /* seconds, 0 = none */
} bio;

void bio_init(bio *b, int fd, char *buf, size_t cap, int timeout);

/* Reading.  bio_read returns bytes read (>0), 0 at end of file, -1 error. */
long bio_read(bio *b, char *out, size_t n);
/* Fill the buffer if empty: returns bytes available, 0 at EOF, -1 error. */
long bio_fill(bio *b);
/* Read one line through '\n' (kept) appending to line.  At most max bytes
 * are appended; a longer line is consumed to its end and reported through
 * *toolong = 1 (line then holds its first max bytes).  Returns 1 when a line
 * (or a final unterminated line) was read, 0 at EOF with nothing read, -1 on
 * error. */
int bio_getline(bio *b, dstr *line, size_t max, int *toolong);
/* Read up to and including byte sep (like getline, with any separator). */
int bio_getsep(bio *b, dstr *out, char sep, size_t max, int *toolong);

/* Writing: data is buffered until full or bio_flush. */
int bio_put(bio *b, const void *data, size_t n);
int bio_puts(bio *b, const char *s);
int bio_flush(bio *b);

/* Unbuffered helpers with the same deadline semantics. */
int fd_write_all(int fd, const void *data, size_t n, int timeout);
long fd_read_timeout(int fd, void *out, size_t n, int timeout);

#endif
