/*
 * qmail-inject: submit a message read on stdin to the local queue.
 *
 *   qmail-inject [-nNaAhH] [-fsender] [-Fname] [recipient ...]
 *
 * Parses the options and hands over to inject_run (inject_run.c), which
 * does the work shared with sendmail.  Runs as the submitting user.
 */
#include <stddef.h>
#include <unistd.h>

#include "inject_run.h"
#include "log.h"

static _Noreturn void usage(const char *why, int opt)
{
    log_die(100, "%s -%c; usage: qmail-inject [-nNaAhH] [-fsender] "
            "[-Fname] [recipient ...]", why, opt);
}

int main(int argc, char **argv)
{
    inject_opts o = {0};
    int c;

    log_init(argc > 0 && argv[0] ? argv[0] : "qmail-inject");
    o.rcpt_mode = INJECT_RCPT_AUTO;
    o.use_return_path = 1;
    opterr = 0;
    /* '+': options stop at the first recipient, as POSIX says */
    while ((c = getopt(argc, argv, "+aAhHnNf:F:")) != -1) {
        switch (c) {
        case 'a': o.rcpt_mode = INJECT_RCPT_ARGS; break;
        case 'A': o.rcpt_mode = INJECT_RCPT_AUTO; break;
        case 'h': o.rcpt_mode = INJECT_RCPT_HEADER; break;
        case 'H': o.rcpt_mode = INJECT_RCPT_BOTH; break;
        case 'n': o.print_only = 1; break;
        case 'N': o.print_only = 0; break;
        case 'f': o.sender = optarg; break;
        case 'F': o.fullname = optarg; break;
        default:
            if (optopt == 'f' || optopt == 'F')
                usage("missing argument of", optopt);
            usage("unknown option", optopt);
        }
    }
    o.args = argv + optind;
    o.nargs = (size_t)(argc - optind);
    return inject_run(&o);
}
