/*
 * remote_conf: the control files qmail-remote reads (relative to the
 * home; a missing file means the default):
 *
 *   timeoutconnect  seconds to wait for a TCP connection (60)
 *   timeoutremote   seconds to wait for each reply and each write (1200)
 *   timeoutdns      seconds to wait for each DNS answer (30; new)
 *   helohost        name for EHLO/HELO (default: me)
 *   me              this host's name (needed when helohost is missing)
 *   smtproutes      static routes (remote_route.h)
 *   qmtproutes      domains delivered by QMTP, same syntax, port 209
 *                   (remote_qmtp.h; new; default: none)
 *   qmtpfallback    1: when no QMTP host of a route accepts a
 *                   connection, deliver by SMTP (smtproutes, MX) instead;
 *                   0: the recipients wait for the QMTP hosts (new;
 *                   default 1)
 *   dnsservers      resolvers, ADDRESS[@PORT] per line (remote_dns.h;
 *                   new; default: /etc/resolv.conf)
 *   outgoingip      local source address, one per line: the first IPv4
 *                   one for IPv4 connections, the first IPv6 one for
 *                   IPv6 (new; default: chosen by the kernel)
 *
 * Timeouts are clamped to 1..86400.  A file that exists but cannot be
 * read, or holds a bad value, is an error (the caller exits 111).
 */
#ifndef REMOTE_CONF_H
#define REMOTE_CONF_H

#include "dstr.h"
#include "remote_ip.h"

typedef struct remote_conf {
    int timeoutconnect;
    int timeoutremote;
    int timeoutdns;
    dstr helohost;          /* NUL-terminated */
    dstr smtproutes;        /* control_readlist format */
    dstr qmtproutes;        /* control_readlist format */
    int qmtpfallback;
    dstr dnsservers;        /* control_readlist format */
    int have_src4, have_src6;
    remote_ip src4, src6;
} remote_conf;

/* Returns 0, or -1 with a reason (naming the file) in err. */
int remote_conf_read(remote_conf *c, dstr *err);
void remote_conf_free(remote_conf *c);
/* The source address for family, or NULL. */
const remote_ip *remote_conf_src(const remote_conf *c, int family);

#endif
