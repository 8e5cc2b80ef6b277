/*
 * sendmail: the sendmail-compatible front end to local submission.
 *
 *   sendmail [-t] [-i] [-oi] [-f sender] [-r sender] [-F fullname] [-bm]
 *            [-v] [-oXXX] [-N dsn] [-B type] [--] [recipient ...]
 *
 * Accepts the options programs pass to /usr/sbin/sendmail (mutt, cron,
 * PHP's mail(), git send-email, ...), ignores those without meaning here,
 * refuses the modes qmail does otherwise (daemon, queue runs, SMTP on
 * stdin, alias database), and hands over to inject_run (inject_run.c),
 * shared with qmail-inject.  Runs as the submitting user.
 */
#include <stddef.h>
#include <string.h>

#include "inject_run.h"
#include "log.h"

#define USAGE "usage: sendmail [-t] [-i] [-f sender] [-F fullname] " \
              "[-oi] [--] [recipient ...]"

/* Options that take a value, attached ("-fjoe") or as the next argument. */
static const char with_value[] = "ABbCdFfhLMNOopRrVX";

static _Noreturn void refuse_mode(const char *mode)
{
    if (strcmp(mode, "p") == 0)
        log_die(100, "listing the queue (-bp, mailq) is not done by "
                "sendmail here: use qmail-qread");
    if (strcmp(mode, "s") == 0)
        log_die(100, "-bs (SMTP on stdin) is not supported: "
                "use qmail-smtpd");
    if (strcmp(mode, "d") == 0 || strcmp(mode, "D") == 0)
        log_die(100, "-b%s (daemon mode) is not supported: qmail-tcpd "
                "runs qmail-smtpd", mode);
    if (strcmp(mode, "i") == 0 || strcmp(mode, "I") == 0)
        log_die(100, "there is no alias database to rebuild: aliases are "
                "~alias/.qmail-* files");
    log_die(100, "-b%s is not supported (only -bm, deliver mail)", mode);
}

/* One option with its value. */
static void option_value(inject_opts *o, char opt, const char *val)
{
    switch (opt) {
    case 'b':
        if (strcmp(val, "m") != 0)
            refuse_mode(val);
        break;
    case 'f':
    case 'r':
        o->sender = val;
        break;
    case 'F':
        o->fullname = val;
        break;
    case 'o':
        if (val[0] == 'i' && val[1] == 0)
            o->dot_ends = 0;
        break; /* -oem, -odb, -oQ..., ...: nothing to do here */
    default:
        break; /* -A -B -C -d -h -L -M -N -O -p -R -V -X: ignored */
    }
}

static const char *base_name(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

int main(int argc, char **argv)
{
    inject_opts o = {0};
    const char *me = argc > 0 && argv[0] ? argv[0] : "sendmail";
    int i;

    log_init(me);
    if (strcmp(base_name(me), "mailq") == 0)
        refuse_mode("p");
    if (strcmp(base_name(me), "newaliases") == 0)
        refuse_mode("i");
    o.rcpt_mode = INJECT_RCPT_ARGS;
    o.dot_ends = 1;
    o.use_return_path = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t j;

        if (a[0] != '-' || a[1] == 0)
            break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        for (j = 1; a[j]; j++) {
            char c = a[j];
            if (c == 'q')
                log_die(100, "-q (queue runs) is not supported: qmail-send "
                        "retries on its own schedule");
            if (strchr(with_value, c)) {
                const char *val = a + j + 1;
                if (!*val) {
                    if (i + 1 >= argc)
                        log_die(100, "missing argument of -%c; " USAGE, c);
                    val = argv[++i];
                }
                option_value(&o, c, val);
                break;
            }
            switch (c) {
            case 't': o.rcpt_mode = INJECT_RCPT_BOTH; break;
            case 'i': o.dot_ends = 0; break;
            case 'I': refuse_mode("i"); break;
            case 'v': /* verbose */
            case 'm': /* send to me too: always so */
            case 'n': /* no aliasing */
            case 'e': /* old error-mode flag */
            case 'U': /* initial user submission */
            case 'G': /* gateway submission */
            case 's': /* save From lines */
            case 'c': /* connect to expensive mailers */
                break;
            default:
                log_die(100, "unknown option -%c; " USAGE, c);
            }
        }
    }
    o.args = argv + i;
    o.nargs = (size_t)(argc - i);
    return inject_run(&o);
}
