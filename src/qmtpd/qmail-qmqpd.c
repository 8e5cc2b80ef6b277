/*
 * qmail-qmqpd: the QMQP server for one connection on fd 0/1, run by
 * qmail-tcpd or ucspi-tcp's tcpserver.  See qmail-qmqpd(8); the work is
 * qmtpd_main.c's.
 *
 * QMQP clients are trusted to relay: who they are is decided by the
 * listener's access rules (control/tcp.qmqp), not here.
 *
 * Exit codes: 0 after a session (however it ended), 111 when it could not
 * serve at all (no home, unreadable configuration), after one Z reply.
 */
#include "qmtpd_main.h"

int main(int argc, char **argv)
{
    (void)argc;
    return qmtpd_main(argv[0] ? argv[0] : "qmail-qmqpd", 0);
}
