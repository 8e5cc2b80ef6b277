// fuzz-sources: src/remote/remote_route.c src/remote/remote_ip.c src/lib/control.c src/lib/file.c src/lib/bio.c src/lib/dstr.c src/lib/num.c src/lib/timeutil.c
// fuzz-dict: tests/fuzz/remote.dict
/*
 * libFuzzer harness: control/smtproutes.  The input's first line is the
 * recipient domain, the rest the file; it becomes a list the way
 * control_readlist makes one (trailing white space cut, blank, '#' and
 * NUL-holding lines dropped).  Checks: every line that parses has a
 * lower-case domain field equal to the text before its first ':', a
 * port 1..65535, mx exactly when the relay is empty, a relay of host
 * name characters or a bracketed address literal, and "domain:relay:port"
 * parses back to the same route; remote_route_find picks the line an
 * independent model picks (exact, else the longest ".suffix", else the
 * default, the first among equals) and returns its parse, or EINVAL with
 * its text, or 0 with an MX route on port 25.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/remote/remote_route.h"
#include "control.h"

static int hostchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static void check_line(const char *line)
{
    dstr dom = DSTR_ZERO, dom2 = DSTR_ZERO, again = DSTR_ZERO;
    remote_route rt = {0, DSTR_ZERO, 0}, rt2 = {0, DSTR_ZERO, 0};
    const char *colon = strchr(line, ':');
    size_t i;

    if (remote_route_parse(line, &dom, &rt) == -1) {
        if (errno != EINVAL)
            abort();
        goto out;
    }
    if (!colon || dom.len != (size_t)(colon - line) ||
        strncasecmp(dom.s, line, dom.len) != 0 || strlen(dom.s) != dom.len)
        abort();
    for (i = 0; i < dom.len; i++)
        if (dom.s[i] >= 'A' && dom.s[i] <= 'Z')
            abort();
    if (rt.port < 1 || rt.port > 65535 || rt.mx != (rt.relay.len == 0) ||
        strlen(rt.relay.s) != rt.relay.len || rt.relay.len > 253 + 2 + 50)
        abort();
    if (rt.relay.len && rt.relay.s[0] == '[') {
        if (rt.relay.s[rt.relay.len - 1] != ']')
            abort();
    } else {
        for (i = 0; i < rt.relay.len; i++)
            if (!hostchar(rt.relay.s[i]))
                abort();
    }
    if (dstr_copyb(&again, dom.s, dom.len) == -1 ||
        dstr_catf(&again, ":%s:%u", rt.relay.s, rt.port) == -1 ||
        dstr_cat0(&again) == -1)
        abort();
    if (remote_route_parse(again.s, &dom2, &rt2) != 0 || dom2.len != dom.len ||
        memcmp(dom.s, dom2.s, dom.len) != 0 || rt2.mx != rt.mx ||
        rt2.port != rt.port || strcmp(rt2.relay.s, rt.relay.s) != 0)
        abort();
out:
    dstr_free(&dom);
    dstr_free(&dom2);
    dstr_free(&again);
    remote_route_free(&rt);
    remote_route_free(&rt2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data, *nl, *p, *best = 0;
    char domain[300];
    dstr list = DSTR_ZERO, what = DSTR_ZERO, f = DSTR_ZERO;
    remote_route rt = {0, DSTR_ZERO, 0}, want = {0, DSTR_ZERO, 0};
    size_t dl, i, bestlen = 0;
    int bestkind = 0, r, wr;

    if (size > 20000)
        return 0;
    nl = memchr(d, '\n', size);
    dl = nl ? (size_t)(nl - d) : size;
    if (dl >= sizeof domain || memchr(d, 0, dl))
        return 0;
    for (i = 0; i < dl; i++)
        domain[i] = d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i];
    domain[dl] = 0;
    i = nl ? dl + 1 : size;
    while (i < size) {
        const char *line = d + i;
        const char *e = memchr(line, '\n', size - i);
        size_t len = e ? (size_t)(e - line) : size - i, tl = len;
        while (tl && (line[tl - 1] == ' ' || line[tl - 1] == '\t' ||
                      line[tl - 1] == '\r'))
            tl--;
        i += len + (e ? 1 : 0);
        if (tl == 0 || line[0] == '#' || memchr(line, 0, tl))
            continue;
        if (dstr_catb(&list, line, tl) == -1 || dstr_catc(&list, 0) == -1)
            abort();
    }

    for (p = list_first(&list); p; p = list_next(&list, p)) {
        const char *colon = strchr(p, ':');
        size_t flen;
        int kind = 0;

        check_line(p);
        if (!colon)
            continue;
        flen = (size_t)(colon - p);
        if (flen == 0)
            kind = 1;
        else if (flen == dl && strncasecmp(p, domain, dl) == 0)
            kind = 3;
        else if (p[0] == '.' && flen < dl &&
                 strncasecmp(p, domain + dl - flen, flen) == 0)
            kind = 2;
        if (kind > bestkind || (kind == 2 && bestkind == 2 && flen > bestlen)) {
            best = p;
            bestkind = kind;
            bestlen = flen;
        }
    }

    r = remote_route_find(&list, domain, &rt, &what);
    if (!best) {
        if (r != 0 || !rt.mx || rt.port != 25 || rt.relay.len != 0)
            abort();
    } else {
        wr = remote_route_parse(best, &f, &want);
        if (wr == 0) {
            if (r != 1 || rt.mx != want.mx || rt.port != want.port ||
                strcmp(rt.relay.s, want.relay.s) != 0)
                abort();
        } else if (r != -1 || errno != EINVAL || what.len != strlen(best) ||
                   memcmp(what.s, best, what.len) != 0) {
            abort();
        }
    }
    dstr_free(&list);
    dstr_free(&what);
    dstr_free(&f);
    remote_route_free(&rt);
    remote_route_free(&want);
    return 0;
}
