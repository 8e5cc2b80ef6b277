/* local_env.c: the delivery programs' environment.  See local_env.h. */
#include "local_env.h"

#include <string.h>

/* s after its n-th '-' (n >= 1), or "" */
static const char *after_dash(const char *s, int n)
{
    while (n-- > 0) {
        const char *d = strchr(s, '-');
        if (!d)
            return "";
        s = d + 1;
    }
    return s;
}

/* length of s without its last n dot-components (HOST2 = HOST less the
 * last component, ...); whole length when it has fewer dots */
static size_t host_prefix(const char *s, int n)
{
    size_t len = strlen(s);
    while (n-- > 0) {
        const char *p = memrchr(s, '.', len);
        if (!p)
            return strlen(s);
        len = (size_t)(p - s);
    }
    return len;
}

int local_env_build(envbuild *e, const struct local_ctx *c)
{
    char recipient[2100];
    size_t ll = strlen(c->local), dl = strlen(c->domain);

    if (ll + dl + 2 > sizeof recipient)
        return -1;
    memcpy(recipient, c->local, ll);
    recipient[ll] = '@';
    memcpy(recipient + ll + 1, c->domain, dl + 1);
    if (envbuild_init(e, 1) == -1 ||
        envbuild_set(e, "SENDER", c->sender) == -1 ||
        envbuild_set(e, "NEWSENDER", c->newsender) == -1 ||
        envbuild_set(e, "RECIPIENT", recipient) == -1 ||
        envbuild_set(e, "USER", c->user) == -1 ||
        envbuild_set(e, "HOME", c->home) == -1 ||
        envbuild_set(e, "HOST", c->domain) == -1 ||
        envbuild_setb(e, "HOST2", c->domain, host_prefix(c->domain, 1)) ==
            -1 ||
        envbuild_setb(e, "HOST3", c->domain, host_prefix(c->domain, 2)) ==
            -1 ||
        envbuild_setb(e, "HOST4", c->domain, host_prefix(c->domain, 3)) ==
            -1 ||
        envbuild_set(e, "LOCAL", c->local) == -1 ||
        envbuild_set(e, "EXT", c->ext) == -1 ||
        envbuild_set(e, "EXT2", after_dash(c->ext, 1)) == -1 ||
        envbuild_set(e, "EXT3", after_dash(c->ext, 2)) == -1 ||
        envbuild_set(e, "EXT4", after_dash(c->ext, 3)) == -1 ||
        envbuild_set(e, "DTLINE", c->dtline) == -1 ||
        envbuild_set(e, "RPLINE", c->rpline) == -1 ||
        envbuild_set(e, "UFLINE", c->ufline) == -1)
        return -1;
    if (c->deflt ? envbuild_set(e, "DEFAULT", c->deflt)
                 : envbuild_unset(e, "DEFAULT"))
        return -1;
    return 0;
}
