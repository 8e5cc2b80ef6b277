/*
 * popup_session: the AUTHORIZATION state of POP3 (RFC 1939, RFC 2449), as
 * qmail-popup speaks it to a client on fds 0 and 1.
 *
 * States and commands:
 *
 *   state       USER  PASS  APOP  CAPA  QUIT   (transaction commands)
 *   need-user    ok    -     -ERR  ok    ok     -ERR log in first
 *   need-pass    ok    ok    -ERR  ok    ok     -ERR log in first
 *
 * USER NAME always answers +OK (whether NAME exists is never revealed).
 * PASS hands NAME, PASSWORD and the timestamp to popup_auth_check(): in
 * qmail-popup that runs in the privileged parent, reached through a
 * socket (popup_auth.h: the split), so this dialogue runs unprivileged.
 * It counts a login attempt of the client's address (pop3_throttle.h;
 * refused without a check when the address is over its limit), then
 * runs the checkpassword program with the client still on fds 0 and 1,
 * "NAME\0PASSWORD\0TIMESTAMP\0" on fd 3 (a pipe) and no other
 * descriptors, and waits for it:
 *
 *   exit 0      it logged the user in and served the session: we are done
 *               (and the attempt is taken back)
 *   exit 1      bad name or password: "-ERR [AUTH] authorization failed"
 *               control/pop3faildelay seconds after the PASS arrived (or
 *               at the next multiple of it, if the check took longer), so
 *               that how long the check took does not show; back to
 *               need-user
 *   otherwise   (2, 111, a signal) "-ERR [SYS/TEMP] ...", back to need-user
 *
 * Input is read in exact mode (pop3_io.h), so that commands a client
 * pipelines after PASS are still unread when the checkpassword program
 * (and qmail-pop3d after it) takes over the connection.
 *
 * Limits: control/timeoutpop3login seconds for the whole session before
 * a login; control/timeoutpop3d seconds per command line and per reply;
 * the first command line longer than 255 octets with its CR LF ends the
 * connection; POPUP_MAX_FAILURES failed logins per connection, then the
 * connection is closed; POPUP_MAX_ERRORS bad command lines; at most
 * POPUP_MAX_COMMANDS commands before a login; the per-address limit of
 * pop3_throttle.h (off, with a log line, when the client's address is
 * not known).  The checkpassword interface allows 512 octets on fd 3: a
 * longer name and password fail like a wrong password.
 *
 * APOP is refused, and the greeting carries no APOP timestamp: the
 * passwords are stored hashed, so APOP could never succeed, and clients
 * such as curl use APOP whenever a greeting offers it.  The checkpassword
 * program still gets a unique timestamp on fd 3 as the interface says.
 *
 * Trust: everything from the client is bounded and checked
 * (pop3_cmd.h).  The password only goes down the pipe: the command line
 * and the parsed command holding it are wiped before the checkpassword
 * program runs, the data for the pipe as soon as it is written.
 */
#ifndef POPUP_SESSION_H
#define POPUP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "pop3_cmd.h"
#include "pop3_conf.h"
#include "pop3_io.h"

#define POPUP_MAX_FAILURES 3
#define POPUP_MAX_ERRORS 20
#define POPUP_MAX_COMMANDS 50
#define POPUP_CHECKPW_MAX 512   /* the checkpassword interface's limit */
#define POPUP_STAMP_MAX 300

struct popup {
    /* set by the caller */
    const char *host;           /* for the timestamp */
    char **subprogram;          /* checkpassword program and its argv */
    struct pop3_conf conf;
    const char *remote;         /* client address, for logs and limits */
    const char *throttle_path;  /* NULL: no per-address limit */
    int infd, outfd;
    /* set by popup_split_run in the child: logins go to the parent on
     * authfd (popup_auth.h) */
    int split;
    int authfd;
    /* the session */
    struct pop3_in in;
    char line[POP3_LINE_MAX + 3];   /* the command line with its CR LF */
    struct pop3_cmd cmd;
    unsigned state;
    char user[POP3_LINE_MAX + 1];
    size_t userlen;
    char stamp[POPUP_STAMP_MAX];
    int failures, errors, commands;
    int64_t login_deadline;     /* time_mono_ms() */
    int64_t pass_at;            /* when the current PASS arrived */
    int counted;                /* this attempt is in the per-address table */
    int64_t counted_at;         /* when it was counted (time(0)) */
    int noaddr_logged;          /* "no address: no limit" was logged */
    int done;                   /* end the session */
    int handed_over;            /* a login succeeded: the session is over */
    const char *why;            /* why the session ended, for the log */
    int exitcode;
};

/* 1 if host is acceptable in the timestamp (printable, no spaces or <>,
 * 1..255 octets). */
int popup_host_ok(const char *host);
/* Make the unique timestamp "<pid.seconds.microseconds.random@host>". */
int popup_make_stamp(const char *host, char *out, size_t outsize);
/* The textual IP address of the peer of the socket fd (when there is no
 * $TCPREMOTEIP: inetd, systemd socket activation).  Returns 0, or -1 if
 * fd is not a connected IPv4 or IPv6 socket. */
int popup_peer_address(int fd, char *out, size_t outsize);
/* Run the session from the greeting to its end; returns the exit code
 * for the program.  The caller ignores SIGPIPE (a client or a
 * checkpassword program that went away is an error value, not a
 * signal). */
int popup_run(struct popup *p);

#endif
