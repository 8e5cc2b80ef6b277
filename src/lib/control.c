/*
 * control.c: qmail control files.  See control.h.
 * Control files are trusted configuration, but still bounded in size.
 */
#include "control.h"

#include <errno.h>
#include <string.h>

#include "file.h"
#include "num.h"

int control_readfile(const char *path, dstr *out)
{
    if (file_read(path, out, CONTROL_MAX_BYTES) == -1) {
        if (errno == ENOENT) {
            out->len = 0;
            return 0;
        }
        return -1;
    }
    return 1;
}

static size_t trim_end(const char *s, size_t len)
{
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
                   s[len - 1] == '\r'))
        len--;
    return len;
}

int control_readline(const char *path, dstr *out, const char *def)
{
    dstr raw = DSTR_ZERO;
    const char *nl;
    size_t len;
    int r;

    r = control_readfile(path, &raw);
    if (r == -1) {
        dstr_free(&raw);
        return -1;
    }
    out->len = 0;
    if (r == 1) {
        nl = raw.len ? memchr(raw.s, '\n', raw.len) : 0;
        len = trim_end(raw.s, nl ? (size_t)(nl - raw.s) : raw.len);
        if (len) {
            r = dstr_catb(out, raw.s, len);
            dstr_free(&raw);
            return r == -1 ? -1 : 1;
        }
    }
    dstr_free(&raw);
    if (def && dstr_cats(out, def) == -1)
        return -1;
    return 0;
}

int control_readulong(const char *path, unsigned long long *out,
                      unsigned long long def)
{
    dstr line = DSTR_ZERO;
    int r = control_readline(path, &line, 0);

    if (r == 1) {
        /* leading white space is tolerated too */
        size_t i = 0;
        while (i < line.len && (line.s[i] == ' ' || line.s[i] == '\t'))
            i++;
        if (num_scan_ulong(line.s + i, line.len - i, out) == -1) {
            dstr_free(&line);
            errno = EINVAL;
            return -1;
        }
    } else if (r == 0) {
        *out = def;
    }
    dstr_free(&line);
    return r;
}

int control_readlist(const char *path, dstr *out)
{
    dstr raw = DSTR_ZERO;
    size_t i = 0;
    int r;

    out->len = 0;
    r = control_readfile(path, &raw);
    if (r != 1) {
        dstr_free(&raw);
        return r;
    }
    while (i < raw.len) {
        const char *line = raw.s + i;
        const char *nl = memchr(line, '\n', raw.len - i);
        size_t len = nl ? (size_t)(nl - line) : raw.len - i;
        size_t tl = trim_end(line, len);

        i += len + (nl ? 1 : 0);
        if (tl == 0 || line[0] == '#')
            continue;
        if (memchr(line, 0, tl))
            continue; /* a NUL would split the entry: ignore the line */
        if (dstr_catb(out, line, tl) == -1 || dstr_catc(out, 0) == -1) {
            dstr_free(&raw);
            return -1;
        }
    }
    dstr_free(&raw);
    return 1;
}

const char *list_first(const dstr *d)
{
    return d->len ? d->s : 0;
}

const char *list_next(const dstr *d, const char *p)
{
    p += strlen(p) + 1;
    return p < d->s + d->len ? p : 0;
}

int control_err(dstr *err, const char *what)
{
    int saved = errno;

    err->len = 0;
    if (dstr_cats(err, what) == -1 || dstr_cats(err, ": ") == -1 ||
        dstr_cats(err, strerror(saved)) == -1 || dstr_cat0(err) == -1)
        err->len = 0;
    errno = saved;
    return -1;
}

int control_number(const char *path, unsigned long long *out,
                   unsigned long long def, dstr *err)
{
    if (control_readulong(path, out, def) == -1)
        return control_err(err, path);
    return 0;
}

int control_list_lower(const char *path, dstr *out, int *missing, dstr *err)
{
    int r = control_readlist(path, out);

    if (r == -1)
        return control_err(err, path);
    if (missing)
        *missing = r == 0;
    dstr_lower(out);
    return 0;
}
