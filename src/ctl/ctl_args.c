/*
 * ctl_args.c: qmailctl's command-line parsing.  Every option takes a value,
 * given as "--name value" or "--name=value", except flags ("--system");
 * everything else is positional.
 * "--" ends the options.  Called by each command with its own option table.
 */
#include "ctl.h"

#include <string.h>

#include "log.h"

static ctl_opt *find_opt(ctl_opt *opts, const char *name, size_t len)
{
    ctl_opt *o;
    for (o = opts; o && o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return 0;
}

int ctl_args_parse(int argc, char **argv, ctl_opt *opts, ctl_args *out)
{
    int i, only_pos = 0;

    out->npos = 0;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && a[0] == '-' && a[1] != 0) {
            const char *name, *eq, *value;
            ctl_opt *o;
            size_t len;

            if (a[1] != '-') {
                log_line("unknown option %s (options are spelled --name)", a);
                return -1;
            }
            name = a + 2;
            eq = strchr(name, '=');
            len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_opt(opts, name, len);
            if (!o) {
                log_line("unknown option --%.*s", (int)len, name);
                return -1;
            }
            if (o->flag) {
                if (eq) {
                    log_line("option --%s takes no value", o->name);
                    return -1;
                }
                value = "1";
            } else if (eq) {
                value = eq + 1;
            } else {
                if (i + 1 >= argc) {
                    log_line("option --%s needs a value", o->name);
                    return -1;
                }
                value = argv[++i];
            }
            if (o->value) {
                log_line("option --%s given twice", o->name);
                return -1;
            }
            o->value = value;
            continue;
        }
        if (out->npos >= CTL_ARGS_MAX) {
            log_line("too many arguments");
            return -1;
        }
        out->pos[out->npos++] = a;
    }
    return 0;
}

const char *ctl_opt_get(const ctl_opt *opts, const char *name)
{
    const ctl_opt *o;
    for (o = opts; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->value;
    return 0;
}
