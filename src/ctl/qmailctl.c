/*
 * qmailctl: create and run a qmail instance.
 *
 *   qmailctl init DIR [--hostname H] [--smtp-port N] [--pop3-port N]
 *            [--qmtp-port N] [--qmqp-port N] [--submission-port N]
 *            [--bind ADDR] [--system]
 *   qmailctl adduser DIR NAME [--password P | --password-file F]
 *   qmailctl start|stop|status|run|flush DIR
 *   qmailctl help
 *
 * main() only picks the command; each lives in its own module (ctl.h).
 * Run by the administrator; trusts its arguments no further than the
 * checks in ctl_check.c.  See qmailctl(8).
 */
#include "ctl.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "log.h"

static const char usage_text[] =
    "usage: qmailctl COMMAND DIR [options]\n"
    "\n"
    "  init DIR [--hostname H] [--bind ADDR] [--smtp-port N] [--pop3-port N]\n"
    "           [--qmtp-port N] [--qmqp-port N] [--submission-port N]\n"
    "           [--system]\n"
    "                  create an instance in DIR (defaults: localhost,\n"
    "                  127.0.0.1, ports 2525 1110 2209 6280 5870);\n"
    "                  --system: a root install, each daemon under its\n"
    "                  qmail user (make install uses it)\n"
    "  adduser DIR NAME [--password P | --password-file F]\n"
    "                  add a mailbox DIR/mail/NAME/Maildir and its POP3\n"
    "                  password; on an existing user, change the password\n"
    "  start DIR       start all services in the background\n"
    "  stop DIR        stop them (the queue is kept)\n"
    "  status DIR      show what runs (exit 0 all running, 3 not)\n"
    "  run DIR         run in the foreground, logging here, until Ctrl-C\n"
    "  flush DIR       make qmail-send retry every queued delivery now\n"
    "  help            this text\n"
    "\n"
    "See qmailctl(8).\n";

void ctl_usage(int fd)
{
    fd_write_all(fd, usage_text, sizeof usage_text - 1, 0);
}

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"init", ctl_cmd_init},     {"adduser", ctl_cmd_adduser},
    {"start", ctl_cmd_start},   {"stop", ctl_cmd_stop},
    {"status", ctl_cmd_status}, {"run", ctl_cmd_run},
    {"flush", ctl_cmd_flush},
};

int main(int argc, char **argv)
{
    size_t i;

    log_init(argc > 0 && argv[0] ? argv[0] : "qmailctl");
    /* a closed pipe on stdout must be an error return, not a silent death */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        ctl_usage(2);
        return CTL_USAGE;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        ctl_usage(1);
        return CTL_OK;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    log_line("unknown command %s (try: qmailctl help)", argv[1]);
    return CTL_USAGE;
}
