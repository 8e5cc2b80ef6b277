/*
 * local_msg: the message qmail-local delivers: LEN bytes of fd 0 starting
 * at its offset when qmail-local started.  fd 0 is a queue file, so the
 * message can be read again for each delivery of a .qmail file.
 */
#ifndef LOCAL_MSG_H
#define LOCAL_MSG_H

#include <stddef.h>
#include <stdint.h>

int local_msg_init(int fd, uint64_t len);
/* Back to the first byte. */
int local_msg_rewind(void);
/* Read up to n bytes: >0, 0 at the end of the message, -1 error (EPROTO
 * if the file ends before the message does). */
long local_msg_read(char *buf, size_t n);
/* 1 if the header holds a "Delivered-To: dt" line (name and value
 * compared without case), 0 if not, -1 on error.  Rewinds after. */
int local_msg_has_dtline(const char *dt);
uint64_t local_msg_len(void);
/* Put fd 0's file offset back at the first byte of the message (for a
 * program that reads standard input itself). */
int local_msg_fd_rewind(void);

#endif
