/*
 * qverdict: what a receiving server tells its client once qmail-queue
 * (through qqueue_finish) has given its verdict on a message.  Shared by
 * qmail-smtpd, qmail-qmtpd and qmail-qmqpd so that the same exit code
 * always means the same answer:
 *
 *   0 (and every write succeeded)   accepted
 *   0 but a write failed            temporary: "qmail-queue write error"
 *   11..40                          permanent: queue_exit_text()
 *   any other exit code             temporary: queue_exit_text()
 *   QQUEUE_TIMEOUT/WAITERR/CRASHED  temporary: "qmail-queue did not finish
 *                                   in time" / "was lost" / "crashed"
 */
#ifndef QVERDICT_H
#define QVERDICT_H

#define QVERDICT_OK 'K'
#define QVERDICT_TEMP 'Z'
#define QVERDICT_PERM 'D'

/* code: qqueue_finish's result; failed: qqueue's failed flag.  Returns
 * QVERDICT_OK, _TEMP or _PERM and sets *text to a constant description
 * (without "try again later"). */
char qverdict(int code, int failed, const char **text);

#endif
