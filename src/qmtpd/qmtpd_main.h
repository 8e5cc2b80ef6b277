/*
 * qmtpd_main: everything qmail-qmtpd (qmtp 1) and qmail-qmqpd (qmtp 0)
 * do, for the connection on fd 0/1; name is the program's name for the
 * log.  Returns 0 after a session (however it ended); exits 111 when it
 * could not serve at all (no home, unreadable configuration), after one
 * Z reply.
 */
#ifndef QMTPD_MAIN_H
#define QMTPD_MAIN_H

int qmtpd_main(const char *name, int qmtp);

#endif
