/*
 * route.c: local or remote, and under what name.  See route.h.
 * Addresses are mail data: they are only compared and copied here.
 */
#include "route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control.h"

int route_conf_read(route_conf *rc, const char *me, const char **file)
{
    route_conf n = ROUTE_CONF_ZERO;

    *file = "control/locals";
    if (control_readlist("control/locals", &n.locals) == -1)
        goto fail;
    if (n.locals.len == 0 &&
        (dstr_cats(&n.locals, me) == -1 || dstr_catc(&n.locals, 0) == -1))
        goto fail;
    *file = "control/virtualdomains";
    if (control_readlist("control/virtualdomains", &n.virtuals) == -1)
        goto fail;
    *file = "control/percenthack";
    if (control_readlist("control/percenthack", &n.percenthack) == -1)
        goto fail;
    route_conf_free(rc);
    *rc = n;
    return 0;
fail:
    {
        int saved = errno;
        route_conf_free(&n);
        errno = saved;
    }
    return -1;
}

void route_conf_free(route_conf *rc)
{
    dstr_free(&rc->locals);
    dstr_free(&rc->virtuals);
    dstr_free(&rc->percenthack);
}

static int in_list(const dstr *list, const char *dom, size_t len)
{
    const char *p;
    for (p = list_first(list); p; p = list_next(list, p))
        if (strlen(p) == len && strncasecmp(p, dom, len) == 0)
            return 1;
    return 0;
}

/* The prepend of the virtualdomains line for key (len bytes), or NULL. */
static const char *virtual_lookup(const route_conf *rc, const char *key,
                                  size_t len)
{
    const char *p;
    for (p = list_first(&rc->virtuals); p;
         p = list_next(&rc->virtuals, p)) {
        const char *colon = strrchr(p, ':');
        if (colon && (size_t)(colon - p) == len &&
            strncasecmp(p, key, len) == 0)
            return colon + 1;
    }
    return 0;
}

char route_classify(const route_conf *rc, const char *addr, char **route)
{
    dstr a = DSTR_ZERO;
    const char *at, *dom, *pre = 0;
    size_t hops;

    *route = 0;
    if (dstr_cats(&a, addr) == -1 || dstr_cat0(&a) == -1)
        goto nomem;
    for (hops = 0;; hops++) {
        char *pct;
        at = strrchr(a.s, '@');
        dom = at ? at + 1 : "";
        pct = at ? memrchr(a.s, '%', (size_t)(at - a.s)) : 0;
        if (!pct || hops >= 10 ||
            !in_list(&rc->percenthack, dom, strlen(dom)))
            break;
        /* "u%h@dom" -> "u@h" */
        a.len = (size_t)(at - a.s);
        *pct = '@';
        if (dstr_cat0(&a) == -1)
            goto nomem;
    }
    if (!in_list(&rc->locals, dom, strlen(dom))) {
        if (at)
            pre = virtual_lookup(rc, a.s, strlen(a.s));
        if (!pre) {
            const char *d = dom;
            pre = virtual_lookup(rc, dom, strlen(dom));
            while (!pre && (d = strchr(d + 1, '.')))
                pre = virtual_lookup(rc, d, strlen(d));
            if (!pre)
                pre = virtual_lookup(rc, "", 0);
        }
        if (!pre || !*pre) {
            /* remote; keep a percent-hack rewrite for the remote channel */
            if (strcmp(a.s, addr) != 0)
                *route = a.s;
            else
                dstr_free(&a);
            return 'R';
        }
        {
            dstr v = DSTR_ZERO;
            size_t llen = at ? (size_t)(at - a.s) : strlen(a.s);
            if (dstr_cats(&v, pre) == -1 || dstr_catc(&v, '-') == -1 ||
                dstr_catb(&v, a.s, llen) == -1 || dstr_catc(&v, '@') == -1 ||
                dstr_cats(&v, dom) == -1 || dstr_cat0(&v) == -1) {
                dstr_free(&v);
                goto nomem;
            }
            *route = v.s;
            dstr_free(&a);
            return 'L';
        }
    }
    if (strcmp(a.s, addr) != 0)
        *route = a.s;
    else
        dstr_free(&a);
    return 'L';
nomem:
    dstr_free(&a);
    errno = ENOMEM;
    return 0;
}
