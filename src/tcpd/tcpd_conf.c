/*
 * tcpd_conf.c: qmail-tcpd's command line.  See qmail-tcpd(8).
 *
 * Trust: the administrator's (or qmailctl's) arguments, checked before
 * anything is bound: numbers in range, names that exist, and text that
 * may reach the network (-m) or the environment (-l) limited to
 * printable ASCII.
 */
#include "tcpd.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "num.h"

void tcpd_usage(void)
{
    log_line("usage: qmail-tcpd [-hHqQv] [-c N] [-C N] [-x RULES.cdb] "
             "[-u USER] [-g GROUP] [-b N] [-l NAME] [-t SECONDS] "
             "[-m MESSAGE] [-R N] ADDR PORT PROGRAM [ARG...]");
}

static int number(int opt, const char *s, unsigned long long lo,
                  unsigned long long hi, unsigned long long *out)
{
    if (num_scan_ulong_str(s, out) == -1 || *out < lo || *out > hi) {
        log_line("-%c %s: give a number from %llu to %llu", opt, s, lo, hi);
        return -1;
    }
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
            return 0;
    return n <= max;
}

static int hostname_ok(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > TCPD_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
              ch == '_'))
            return 0;
    }
    return 1;
}

static int set_user(tcpd_conf *c, const char *s, int *gid_from_user)
{
    unsigned long long n;

    if (all_digits(s)) {
        if (number('u', s, 1, 0x7fffffff, &n) == -1)
            return -1;
        c->uid = (uid_t)n;
    } else {
        struct passwd *pw = getpwnam(s);
        if (!pw) {
            log_line("-u %s: no such user", s);
            return -1;
        }
        c->uid = pw->pw_uid;
        c->gid = pw->pw_gid;
        *gid_from_user = 1;
    }
    if (c->uid == 0) {
        log_line("-u %s: refusing to run servers as root; leave out -u", s);
        return -1;
    }
    c->set_uid = 1;
    return 0;
}

static int set_group(tcpd_conf *c, const char *s)
{
    unsigned long long n;

    if (all_digits(s)) {
        if (number('g', s, 1, 0x7fffffff, &n) == -1)
            return -1;
        c->gid = (gid_t)n;
    } else {
        struct group *gr = getgrnam(s);
        if (!gr) {
            log_line("-g %s: no such group", s);
            return -1;
        }
        c->gid = gr->gr_gid;
    }
    if (c->gid == 0) {
        log_line("-g %s: refusing to run servers in group 0", s);
        return -1;
    }
    c->set_gid = 1;
    return 0;
}

int tcpd_conf_parse(int argc, char **argv, tcpd_conf *c)
{
    const char *user = 0, *group = 0;
    unsigned long long n;
    int opt, gid_from_user = 0;

    memset(c, 0, sizeof *c);
    c->maxconn = TCPD_DEFAULT_MAXCONN;
    c->maxperip = TCPD_DEFAULT_MAXPERIP;
    c->backlog = TCPD_DEFAULT_BACKLOG;
    c->dns_timeout = TCPD_DEFAULT_DNS_TIMEOUT;
    c->verbosity = 1;
    c->reuse = 1;
    opterr = 0;
    /* "+": options end at the first operand, so the program's own
     * options are left alone */
    while ((opt = getopt(argc, argv, "+c:C:x:u:g:b:l:hHt:m:R:vqQ")) != -1) {
        switch (opt) {
        case 'c':
            if (number(opt, optarg, 1, 100000, &n) == -1)
                return -1;
            c->maxconn = (size_t)n;
            break;
        case 'C':
            if (number(opt, optarg, 1, 100000, &n) == -1)
                return -1;
            c->maxperip = (size_t)n;
            break;
        case 'x':
            if (!*optarg) {
                log_line("-x: give the rules file (RULES.cdb)");
                return -1;
            }
            c->rules = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'b':
            if (number(opt, optarg, 1, 65535, &n) == -1)
                return -1;
            c->backlog = (int)n;
            break;
        case 'l':
            if (!hostname_ok(optarg)) {
                log_line("-l %s: give a host name (letters, digits, '.', "
                         "'-', '_'; at most %d bytes)", optarg,
                         TCPD_NAME_MAX);
                return -1;
            }
            c->localhost = optarg;
            break;
        case 'h':
            c->dns = 1;
            break;
        case 'H':
            c->dns = 0;
            break;
        case 't':
            if (number(opt, optarg, 1, 60, &n) == -1)
                return -1;
            c->dns_timeout = (unsigned)n;
            break;
        case 'm':
            if (!printable(optarg, TCPD_MSG_MAX) || !*optarg) {
                log_line("-m: the message must be printable ASCII, 1 to "
                         "%d bytes", TCPD_MSG_MAX);
                return -1;
            }
            c->busy_msg = optarg;
            break;
        case 'R':
            if (number(opt, optarg, 1, TCPD_REUSE_MAX, &n) == -1)
                return -1;
            c->reuse = (size_t)n;
            break;
        case 'v':
            c->verbosity = 2;
            break;
        case 'q':
            c->verbosity = 0;
            break;
        case 'Q':
            c->verbosity = 1;
            break;
        default:
            if (optopt && strchr("cCxugbltmR", optopt))
                log_line("-%c needs an argument", optopt);
            else
                log_line("-%c: unknown option", optopt ? optopt : '?');
            tcpd_usage();
            return -1;
        }
    }
    if (argc - optind < 3) {
        tcpd_usage();
        return -1;
    }
    c->addr = argv[optind];
    if (num_scan_ulong_str(argv[optind + 1], &n) == -1 || n < 1 ||
        n > 65535) {
        log_line("PORT %s: not a port number (1..65535)", argv[optind + 1]);
        return -1;
    }
    c->port = (unsigned)n;
    c->argv = argv + optind + 2;
    if (!*c->argv[0]) {
        log_line("PROGRAM: empty");
        return -1;
    }
    if (user || group) {
        if (geteuid() != 0) {
            log_line("-u and -g change the user, which only root can do");
            return -1;
        }
        if (user && set_user(c, user, &gid_from_user) == -1)
            return -1;
        if (group && set_group(c, group) == -1)
            return -1;
        if (!user) {
            log_line("-g %s: give -u too (servers must not run as root)",
                     group);
            return -1;
        }
        if (!group && !gid_from_user) {
            log_line("-u %s: give -g too, or a user name (whose group is "
                     "then used)", user);
            return -1;
        }
        c->set_gid = 1;
    }
    return 0;
}
