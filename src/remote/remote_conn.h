/*
 * remote_conn: open a TCP connection to a remote SMTP server, with a
 * deadline, optionally from a given local address (control/outgoingip).
 */
#ifndef REMOTE_CONN_H
#define REMOTE_CONN_H

#include "remote_ip.h"

/* Connect to ip port within timeout seconds; bind to src first when src
 * is not NULL and of the same family.  Returns a non-blocking, close-on-
 * exec socket, or -1 with errno (ETIMEDOUT when the deadline passed,
 * ECONNREFUSED, ENETUNREACH, ...). */
int remote_connect(const remote_ip *ip, unsigned port, const remote_ip *src,
                   int timeout);

#endif
