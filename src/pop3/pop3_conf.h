/*
 * pop3_conf: the control files of the POP3 programs, read from
 * $QMAILHOME/control (absolute paths: the programs do not change
 * directory to the instance, so that relative program names in their
 * argv keep working).
 *
 *   timeoutpop3d       seconds a client may take to send a command line,
 *                      and to take a reply (default 600, RFC 1939's
 *                      minimum autologout timer; 1..86400)
 *   timeoutpop3login   seconds qmail-popup gives a client for its whole
 *                      login, from the connection to a successful PASS,
 *                      however many commands it sends (default 120;
 *                      1..86400)
 *   pop3faildelay      qmail-popup answers a failed login this many
 *                      seconds after the PASS arrived, however long the
 *                      check took (default 2; 1..60: never 0, so that
 *                      the answer's timing says nothing about the name)
 *   pop3addrfailures   failed logins per address (IPv6: /64) within the
 *                      window after which qmail-popup refuses logins from
 *                      it (default 10; 0 turns the limit off)
 *   pop3addrwindow     that window in seconds (default 600; 1..604800)
 *
 * A value out of range is an error, as is a file that exists but cannot
 * be read, except in tolerant mode (qmail-pop3d, which runs as the
 * mailbox owner and may not be allowed to read the instance's control
 * directory): there it is the default.
 */
#ifndef POP3_CONF_H
#define POP3_CONF_H

#include <stddef.h>

struct pop3_conf {
    int timeout;
    int logintimeout;
    int faildelay;
    unsigned long addrfailures;
    long addrwindow;
};

/* Fill c from the control files of the instance qhome.  Returns 0, or -1
 * with a reason in why. */
int pop3_conf_read(const char *qhome, struct pop3_conf *c, int tolerant,
                   char *why, size_t whysize);

#endif
