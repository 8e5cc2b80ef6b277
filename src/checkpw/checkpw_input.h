/*
 * checkpw_input: the checkpassword interface's input.
 *
 * The caller (qmail-popup, or any other) writes "NAME\0PASSWORD\0
 * TIMESTAMP\0" on descriptor 3 and closes it.  We read it to end of file,
 * at most CHECKPW_INPUT_MAX octets (the interface's limit), within a
 * deadline, then close it.  The timestamp may be missing (some callers
 * send two fields); the name must not be empty; every field must end in
 * NUL.
 *
 * Trust: the octets come, through the caller, from a network client.  The
 * buffer is wiped by checkpw_input_wipe().
 */
#ifndef CHECKPW_INPUT_H
#define CHECKPW_INPUT_H

#include <stddef.h>

#define CHECKPW_INPUT_MAX 512

struct checkpw_input {
    char buf[CHECKPW_INPUT_MAX + 1];
    size_t len;
    const char *user, *pass, *stamp;    /* NUL-terminated, in buf */
    size_t userlen, passlen;
};

/* Read fd to EOF (then close it).  Returns 0, or -1 with errno: EMSGSIZE
 * (more than the limit), ETIMEDOUT, or a read error. */
int checkpw_input_read(int fd, int timeout, struct checkpw_input *in);
/* Split in->buf (in->len octets) into the fields.  Returns 0, or -1 if
 * the data does not follow the interface. */
int checkpw_input_parse(struct checkpw_input *in);
void checkpw_input_wipe(struct checkpw_input *in);

#endif
