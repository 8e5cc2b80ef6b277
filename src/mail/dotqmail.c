/*
 * dotqmail.c: find the controlling .qmail file.  See dotqmail.h.
 * ext comes from a recipient address: it only ever becomes a file name
 * component after '/' was ruled out (mailuser checks local parts, and
 * here '/' is refused outright).
 */
#include "dotqmail.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int dotqmail_name(dstr *out, const char *dash, const char *ext)
{
    size_t i;

    out->len = 0;
    if (dstr_cats(out, ".qmail") == -1 || dstr_cats(out, dash) == -1)
        return -1;
    for (i = 0; ext[i]; i++) {
        char c = ext[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        else if (c == '.')
            c = ':';
        if (dstr_catc(out, c) == -1)
            return -1;
    }
    return dstr_cat0(out);
}

/* 1 exists, 0 missing, -1 cannot tell */
static int exists(const char *dir, const dstr *name)
{
    struct stat st;
    dstr path = DSTR_ZERO;
    int r;

    if (dir) {
        if (dstr_cats(&path, dir) == -1 || dstr_catc(&path, '/') == -1 ||
            dstr_cat(&path, name) == -1 || dstr_cat0(&path) == -1) {
            dstr_free(&path);
            return -1;
        }
        r = stat(path.s, &st);
    } else {
        r = stat(name->s, &st);
    }
    dstr_free(&path);
    if (r == 0)
        return 1;
    /* a name too long for the file system cannot exist either */
    return errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG ? 0
                                                                        : -1;
}

int dotqmail_find(const char *dir, const char *dash, const char *ext,
                  dstr *name, dstr *deflt)
{
    dstr e = DSTR_ZERO;
    size_t cut;
    int r;

    deflt->len = 0;
    if (dstr_cat0(deflt) == -1)
        return -1;
    if (strchr(ext, '/') || strchr(dash, '/')) {
        errno = EINVAL;
        return -1;
    }
    if (!*ext) {
        if (dstr_copys(name, ".qmail") == -1 || dstr_cat0(name) == -1)
            return -1;
        return exists(dir, name);
    }
    if (dotqmail_name(name, dash, ext) == -1)
        return -1;
    r = exists(dir, name);
    if (r != 0)
        return r;
    /* the lower-cased extension, for DEFAULT and the -default names */
    if (dotqmail_name(&e, "", ext) == -1)
        return -1;
    /* e.s is ".qmail" + ext': walk the '-' in ext' from the right */
    cut = e.len;
    for (;;) {
        const char *x = e.s + 6; /* skip ".qmail" */
        size_t xlen = e.len - 6, i;

        while (cut > 6 && e.s[cut - 1] != '-')
            cut--;
        /* prefix is x[0 .. cut-7) ("a-" part without the '-'), or empty */
        name->len = 0;
        if (dstr_cats(name, ".qmail") == -1 || dstr_cats(name, dash) == -1)
            goto fail;
        if (cut > 6 && dstr_catb(name, x, cut - 6) == -1)
            goto fail;
        if (dstr_cats(name, "default") == -1 || dstr_cat0(name) == -1)
            goto fail;
        r = exists(dir, name);
        if (r != 0) {
            if (r == 1) {
                /* DEFAULT is the rest of the extension, as given
                 * (lower-cased, dots kept) */
                size_t start = cut > 6 ? cut - 6 : 0;
                deflt->len = 0;
                for (i = start; i < xlen; i++) {
                    char c = ext[i];
                    if (c >= 'A' && c <= 'Z')
                        c = (char)(c + 32);
                    if (dstr_catc(deflt, c) == -1)
                        goto fail;
                }
                if (dstr_cat0(deflt) == -1)
                    goto fail;
            }
            dstr_free(&e);
            return r;
        }
        if (cut <= 6)
            break;
        cut--; /* step over the '-' */
    }
    dstr_free(&e);
    return 0;
fail:
    dstr_free(&e);
    return -1;
}
