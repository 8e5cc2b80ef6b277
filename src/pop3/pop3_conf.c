/*
 * pop3_conf.c: read the POP3 control files.  See pop3_conf.h.  The files
 * are the administrator's; values are range-checked all the same.
 */
#include "pop3_conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control.h"

struct setting {
    const char *file;
    unsigned long long def, min, max;
};

static const struct setting settings[] = {
    {"timeoutpop3d", 600, 1, 86400},
    {"timeoutpop3login", 120, 1, 86400},
    {"pop3faildelay", 2, 1, 60},
    {"pop3addrfailures", 10, 0, 1000000},
    {"pop3addrwindow", 600, 1, 604800},
};

int pop3_conf_read(const char *qhome, struct pop3_conf *c, int tolerant,
                   char *why, size_t whysize)
{
    unsigned long long v[sizeof settings / sizeof settings[0]];
    size_t i;

    for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const struct setting *s = &settings[i];
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/control/%s", qhome, s->file);

        v[i] = s->def;
        if (n < 0 || (size_t)n >= sizeof path) {
            if (tolerant)
                continue;
            snprintf(why, whysize, "%s/control/%s: path too long", qhome,
                     s->file);
            return -1;
        }
        if (control_readulong(path, &v[i], s->def) == -1) {
            if (tolerant) {
                v[i] = s->def;
                continue;
            }
            snprintf(why, whysize, "%s: cannot read: %s", path,
                     errno == EINVAL ? "not a number" : strerror(errno));
            return -1;
        }
        if (v[i] < s->min || v[i] > s->max) {
            if (tolerant) {
                v[i] = s->def;
                continue;
            }
            snprintf(why, whysize, "%s: %llu is out of range (%llu..%llu)",
                     path, v[i], s->min, s->max);
            return -1;
        }
    }
    c->timeout = (int)v[0];
    c->logintimeout = (int)v[1];
    c->faildelay = (int)v[2];
    c->addrfailures = (unsigned long)v[3];
    c->addrwindow = (long)v[4];
    return 0;
}
