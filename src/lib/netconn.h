/*
 * netconn: a TCP connection made within a deadline.
 */
#ifndef NETCONN_H
#define NETCONN_H

#include <sys/socket.h>

/* A non-blocking, close-on-exec stream socket of sa's family, bound to
 * src first when src is not NULL, connected to sa within timeout
 * seconds.  Returns the descriptor (still non-blocking), or -1 with errno
 * (ETIMEDOUT when the time ran out). */
int netconn_connect(const struct sockaddr *sa, socklen_t salen,
                    const struct sockaddr *src, socklen_t srclen,
                    int timeout);

#endif
