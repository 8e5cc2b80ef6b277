/*
 * qmtpd_pkg: the parts of a QMTP or QMQP package and what is done with
 * them, shared by qmail-qmtpd and qmail-qmqpd:
 *
 *   - the message: decoded as it arrives (QMTP's encoding #1, CR then
 *     CRLF-separated lines, becomes LF lines; encoding #2 and QMQP's
 *     message are LF lines already) and streamed to qmail-queue behind our
 *     Received line, counted against databytes;
 *   - an envelope address: copied into a fixed buffer, too long or
 *     holding a control byte marked as such (never queued);
 *   - the reply: one netstring "K"/"Z"/"D" + text.
 *
 * A message is queued only by qmtpd_msg_finish(); every other way out
 * (qmtpd_msg_abort) kills qmail-queue before it has an envelope, so a
 * package that is cut short, malformed or refused is never half-queued.
 */
#ifndef QMTPD_PKG_H
#define QMTPD_PKG_H

#include <stddef.h>
#include <sys/types.h>

#include "dstr.h"
#include "qmtpd_conf.h"
#include "qqueue.h"
#include "queue.h"

/* the message encodings (first byte of a QMTP message) */
#define QMTPD_ENC_UNKNOWN 0     /* QMTP: no byte seen yet */
#define QMTPD_ENC_CRLF '\r'     /* encoding #1 */
#define QMTPD_ENC_LF '\n'       /* encoding #2, and QMQP */
#define QMTPD_ENC_BAD 'X'       /* anything else: refused */

typedef enum qmtpd_msg_flaw {
    QMTPD_MSG_OK = 0,
    QMTPD_MSG_EMPTY,            /* QMTP: not even the encoding byte */
    QMTPD_MSG_BADENC,           /* QMTP: unknown encoding byte */
    QMTPD_MSG_TOOBIG,           /* over databytes */
    QMTPD_MSG_NOQUEUE           /* qmail-queue could not be started */
} qmtpd_msg_flaw;

typedef struct qmtpd_msg {
    const qmtpd_conf *conf;
    const char *proto;          /* "QMTP" or "QMQP", for the Received line */
    int encoding;               /* QMTPD_ENC_ */
    int pending_cr;             /* encoding #1: a CR waits for its LF */
    int started;                /* qmail-queue runs for this message */
    qmtpd_msg_flaw flaw;
    unsigned long long bytes;   /* decoded message bytes */
    pid_t qp;
    qqueue qq;
    char out[65536];
} qmtpd_msg;

/* Start a message.  encoding: QMTPD_ENC_UNKNOWN for QMTP (the first byte
 * says), QMTPD_ENC_LF for QMQP. */
void qmtpd_msg_init(qmtpd_msg *m, const qmtpd_conf *c, const char *proto,
                    int encoding);
/* The message payload sink (qmtpd_sink). */
int qmtpd_msg_sink(void *ctx, const char *data, size_t n);
/* End of the payload: finish decoding; sets flaw for an empty message. */
void qmtpd_msg_end(qmtpd_msg *m);
/* Queue it with this envelope (ending with its empty record): returns
 * qqueue_finish's code.  Only when flaw is QMTPD_MSG_OK. */
int qmtpd_msg_finish(qmtpd_msg *m, const dstr *envelope);
/* Abandon the message (nothing is queued).  Safe to call twice. */
void qmtpd_msg_abort(qmtpd_msg *m);
/* The reply text (without the code letter) for a flaw. */
const char *qmtpd_msg_flaw_text(const qmtpd_msg *m, char *buf, size_t size);

#define QMTPD_ADDR_NETSTR_MAX 65535  /* an address netstring we read through;
                                        above QUEUE_ADDR_MAX it is refused */

typedef struct qmtpd_addr {
    char addr[QUEUE_ADDR_MAX + 1]; /* NUL-terminated */
    size_t len;
    int toolong;
    int bad;                    /* a control byte or NUL */
} qmtpd_addr;

void qmtpd_addr_init(qmtpd_addr *a);
/* The address payload sink (qmtpd_sink). */
int qmtpd_addr_sink(void *ctx, const char *data, size_t n);

/* Append one reply netstring: code letter + text. */
int qmtpd_reply_cat(dstr *out, char code, const char *text);

/* 1 if the sender is listed in badmailfrom (an address, or "@domain"). */
int qmtpd_badmailfrom(const qmtpd_conf *c, const char *addr, size_t len);

#endif
