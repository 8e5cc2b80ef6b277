/*
 * qmqpc_server: one line of control/qmqpservers, the QMQP servers a
 * mini-qmail host hands its mail to (qmail-qmqpc(8)).
 *
 * A line is an IP address, optionally with a port (default 628):
 *
 *   192.0.2.7            IPv4, port 628
 *   192.0.2.7:6280       IPv4, port 6280
 *   2001:db8::7          IPv6 (more than one ':'), port 628
 *   [2001:db8::7]        the same
 *   [2001:db8::7]:6280   IPv6, port 6280
 *
 * No host names: qmail-qmqpc does no DNS, so a mini-qmail host still
 * submits mail while its resolver is down.
 *
 * Trust: control files are configuration, but still parsed strictly.
 */
#ifndef QMQPC_SERVER_H
#define QMQPC_SERVER_H

#include <netinet/in.h>
#include <sys/socket.h>

#define QMQPC_PORT_DEFAULT 628

typedef struct qmqpc_server {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char name[INET6_ADDRSTRLEN + 10]; /* "192.0.2.7:628", "[::1]:628" */
} qmqpc_server;

/* Parse one line (NUL-terminated, trailing white space already removed).
 * Returns 0, or -1 with errno EINVAL. */
int qmqpc_server_parse(const char *line, qmqpc_server *srv);

#endif
