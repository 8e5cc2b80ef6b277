/*
 * qmail-qmtpd: the QMTP server for one connection on fd 0/1, run by
 * qmail-tcpd or ucspi-tcp's tcpserver.  See qmail-qmtpd(8); the work is
 * qmtpd_main.c's.
 *
 * Exit codes: 0 after a session (however it ended), 111 when it could not
 * serve at all (no home, unreadable configuration), after one Z reply.
 */
#include "qmtpd_main.h"

int main(int argc, char **argv)
{
    (void)argc;
    return qmtpd_main(argv[0] ? argv[0] : "qmail-qmtpd", 1);
}
