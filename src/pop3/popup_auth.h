/*
 * popup_auth: qmail-popup's privileged half, which checks logins.
 *
 * qmail-popup splits in two at once (popup_split_run): a child that
 * speaks POP3 with the client up to a login, and the parent, which
 * parses nothing from the network.  Started as root, the child first
 * drops to an unprivileged uid and enters its sandbox (the caller's
 * setup function); the parent keeps root only to run the checkpassword
 * program, which must become the mailbox owner.
 *
 * Between them, a SOCK_SEQPACKET socket pair.  For each PASS the child
 * sends one message, at most POPUP_CHECKPW_MAX octets:
 *
 *   NAME\0PASSWORD\0TIMESTAMP\0       (the checkpassword record)
 *
 * and waits for one octet, the verdict:
 *
 *   'K'  logged in; the checkpassword program and qmail-pop3d served the
 *        session on fds 0 and 1 and have ended: the child exits quietly
 *   'F'  wrong name or password, or a record that is not exactly three
 *        NUL-terminated fields (so it was not passed on)
 *   'B'  the client's address is over its limit of failed logins
 *   'T'  temporary failure (the checkpassword program could not run, or
 *        exited other than 0 or 1)
 *
 * The parent checks the record's form and size (a longer message is cut
 * by the socket and refused), counts the attempt per address before the
 * check (pop3_throttle.h; the table is written only by the parent, so a
 * subverted child cannot clear its own count), runs the checkpassword
 * program with the client on fds 0 and 1 and the record on fd 3, waits
 * control/pop3faildelay after the record arrived before a negative
 * verdict (the child answers the client at once then), and ends the
 * connection after POPUP_MAX_FAILURES failures even if the child does
 * not.  The record is wiped from its memory as soon as it is in the
 * checkpassword program's pipe.
 *
 * Without the split (popup_run called directly, as the unit tests do),
 * the session calls popup_auth_check() itself.
 */
#ifndef POPUP_AUTH_H
#define POPUP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "popup_session.h"

#define POPUP_VERDICT_OK 'K'
#define POPUP_VERDICT_FAIL 'F'
#define POPUP_VERDICT_BLOCKED 'B'
#define POPUP_VERDICT_TEMP 'T'

/* Check one record (len octets, wiped before return); p->pass_at is when
 * it arrived.  Returns a verdict. */
char popup_auth_check(struct popup *p, char *rec, size_t len);

/* Fork; run child_setup (drop privileges, sandbox: it exits 111 itself
 * when it cannot) and then the POP3 dialogue in the child, while this
 * process answers its records.  Returns the exit code for qmail-popup. */
int popup_split_run(struct popup *p, void (*child_setup)(void));

/* When to answer a failed login (pop3faildelay after p->pass_at, or the
 * first multiple of it not yet past), and sleeping until then. */
int64_t popup_fail_answer_at(const struct popup *p);
void popup_sleep_until(int64_t when);

#endif
