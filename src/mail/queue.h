/*
 * queue: the on-disk queue layout and message file format, shared by
 * qmail-queue (writer), qmail-send (reader), qmail-clean (the only process
 * that changes or removes a queued message), qmail-lspawn (opens messages
 * for delivery) and qmail-qread.
 *
 * Layout, relative to $QMAILHOME/queue:
 *
 *   tmp/           messages being written by qmail-queue, named by id; each
 *                  is flock()ed by its writer, so an unlocked file here is
 *                  debris from a killed writer and is removed by qmail-send
 *   mess/NN/       complete messages, NN = queue_bucket(id), 00..63
 *   lock/trigger   FIFO: qmail-queue writes "id\n" after each message
 *   lock/sendlock  flock()ed by the running qmail-send (one per queue)
 *
 * A message id is "SECONDS.MICROSECONDS.PID" of the qmail-queue that wrote
 * it: unique on the host, sortable by arrival, safe as a file name.
 *
 * Message file format:
 *
 *   header   QUEUE_HDR_LEN bytes: "#qmq1 %020llu %020llu\n" holding the
 *            message length in bytes and the arrival time (unix seconds)
 *   message  exactly that many bytes: qmail-queue's Received line, then the
 *            message as given on fd 0
 *   envelope NUL-terminated records, each a one-letter tag and a value:
 *              F<sender>          exactly once, first
 *              T<recipient>       to be delivered
 *              D<recipient>       done: delivered (or bounced, see X)
 *              B<recipient>       failed permanently, bounce not yet sent
 *              X<n> <reason>      reason for the n-th recipient's failure
 *                                 (n counts T/D/B records from 0), appended
 *                                 by qmail-clean before it writes the B;
 *                                 only advisory: a torn last X record (a
 *                                 crash mid-append) is ignored
 *
 * A file appears in mess/ only by an atomic rename after it was fsync()ed,
 * and its directory is fsync()ed before qmail-queue exits 0.  Changing T to
 * D/B is a one-byte pwrite at the record's offset; it is not fsync()ed: a
 * crash can only repeat a delivery, never lose one.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "dstr.h"

#define QUEUE_BUCKETS 64
#define QUEUE_HDR_LEN 48
#define QUEUE_ID_MAX 64
#define QUEUE_ADDR_MAX 1000      /* bytes per envelope address */
#define QUEUE_RCPT_MAX 100000    /* recipients per message */
#define QUEUE_ENV_MAX (16u * 1024 * 1024) /* envelope bytes written by
                                              qmail-queue */

/* qmail-queue exit codes (qmail-queue(8)) */
#define QQ_OK 0
#define QQ_ADDR_TOO_LONG 11
#define QQ_PERM_REFUSED 31
#define QQ_NOMEM 51
#define QQ_TIMEOUT 52
#define QQ_WRITE 53
#define QQ_READ 54
#define QQ_CONFIG 55
#define QQ_NETWORK 56
#define QQ_HOME 61
#define QQ_QUEUE_DIR 62
#define QQ_QUEUE_PID 63
#define QQ_QUEUE_MESS 64
#define QQ_QUEUE_INTD 65
#define QQ_QUEUE_TODO 66
#define QQ_TEMP_REFUSED 71
#define QQ_BUG 81
#define QQ_ENVELOPE 91

/* Bucket number 0..QUEUE_BUCKETS-1 of a message id. */
unsigned queue_bucket(const char *id);
/* "mess/NN/ID" into out (replaced, NUL-terminated). */
int queue_mess_path(dstr *out, const char *id);
/* 1 if id has the shape of a message id (digits and dots only, bounded). */
int queue_id_valid(const char *id);

/* Format / parse the fixed header. */
void queue_hdr_format(char hdr[QUEUE_HDR_LEN], uint64_t msglen,
                      uint64_t birth);
int queue_hdr_parse(const char *hdr, size_t len, uint64_t *msglen,
                    uint64_t *birth);

/* Text of a qmail-queue exit code, for callers' error messages. */
const char *queue_exit_text(int code);

/* A parsed envelope (from the envelope area of a message file). */
typedef struct queue_rcpt {
    char *addr;         /* NUL-terminated, points into env.s */
    size_t offset;      /* file offset of the record's tag byte */
    char state;         /* 'T', 'D' or 'B' */
    char *reason;       /* from an X record, or NULL */
} queue_rcpt;

typedef struct queue_env {
    dstr raw;           /* the envelope bytes */
    char *sender;       /* NUL-terminated, in raw */
    queue_rcpt *rcpts;
    size_t nrcpts;
    uint64_t msglen;
    uint64_t birth;
} queue_env;

/* Read header and envelope of an open message file.  Returns 0, or -1 with
 * errno (EINVAL: not a well-formed message file). */
int queue_env_read(int fd, queue_env *env);
void queue_env_free(queue_env *env);

#endif
