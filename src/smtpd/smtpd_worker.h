/*
 * smtpd_worker: qmail-smtpd as a reused server of qmail-tcpd (its -R
 * option, qmail-tcpd(8) "Reused servers").
 *
 * qmail-tcpd starts the program for a connection as it starts a fresh
 * server (the connection on fds 0 and 1, its whole environment), plus
 * QMAIL_TCPD_WORKER=FD (FD is 3): a SOCK_SEQPACKET socket to qmail-tcpd.
 * Its first message, "B" then NAME=VALUE "\0" or NAME "\0" per
 * variable, says what the listener's own environment has for each
 * variable that connection set (a value, or none): that gives the
 * environment every later session starts from.  After the first session
 * and each later one, the worker closes the connection, writes one byte
 * 'D' and waits for the next message: the connection as SCM_RIGHTS
 * (exactly one descriptor) and a record "C" NAME=VALUE "\0" ... of at
 * most SMTPD_WORKER_REC_MAX bytes, every variable that connection's
 * environment sets (TCPREMOTEIP, TCPLOCALPORT, PROTO, the rule's
 * RELAYCLIENT, ...).  End of file on FD means: exit.
 *
 * The environment of each later session is the listener's plus that
 * record, built anew every time: nothing set for one connection can
 * reach the next.
 *
 * Trust: qmail-tcpd (our parent, the administrator's rules); still, the
 * record is checked and a bad one ends the worker.  Variables whose name
 * starts with QMAIL or LD_ are refused: they are read when a process
 * starts (the sandbox, $QMAILQUEUE, the dynamic linker), and qmail-tcpd
 * gives such connections a fresh process instead.
 */
#ifndef SMTPD_WORKER_H
#define SMTPD_WORKER_H

#include <stddef.h>

#include "env.h"

#define SMTPD_WORKER_ENV "QMAIL_TCPD_WORKER"
#define SMTPD_WORKER_REC_MAX (96 * 1024)
#define SMTPD_WORKER_DONE 'D'

typedef struct smtpd_worker {
    int ctl;            /* the socket to qmail-tcpd */
    envbuild base;      /* the environment at start */
    envbuild cur;       /* base + this connection's variables */
    unsigned long served;
    char rec[SMTPD_WORKER_REC_MAX + 1];
} smtpd_worker;

/* Worker mode?  1 with w set up (the control descriptor made close-on-
 * exec, the variable removed, the listener's environment worked out; the
 * first connection is on fds 0 and 1 with its environment in place), 0
 * when not started as a worker (or qmail-tcpd already let it go: serve
 * fds 0 and 1 once), -1 with errno when the variable or the first
 * message is bad. */
int smtpd_worker_init(smtpd_worker *w);
/* Wait for the next connection; no deadline (qmail-tcpd decides how long
 * a worker may be idle).  1 with the descriptor in *fd (close-on-exec)
 * and the connection's environment in place (environ), 0 when qmail-tcpd
 * closed the socket, -1 with errno (EPROTO: a bad message). */
int smtpd_worker_next(smtpd_worker *w, int *fd);
/* Tell qmail-tcpd the session is over.  0 or -1. */
int smtpd_worker_done(smtpd_worker *w);

#endif
