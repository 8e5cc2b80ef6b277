/*
 * tcpd_rules_make.c: compile rules text into the cdb qmail-tcpd reads
 * (qmail-tcprules).  See tcpd_rules.h for the format.
 *
 * The new cdb is written to a temporary file, fsync()ed and renamed over
 * the old one, so qmail-tcpd, which opens the file for every connection,
 * sees either the old rules or the new ones, never a mix.  On any error
 * the old cdb is left alone and the temporary file removed.
 */
#include "tcpd_rules.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bio.h"
#include "file.h"

typedef struct entry {
    size_t key_at, key_len;  /* in keys */
    size_t val_at, val_len;  /* in vals */
    unsigned long line;
    int dup;                 /* an earlier line has the same key */
} entry;

typedef struct build {
    dstr keys, vals;
    entry *e;
    size_t n, cap;
} build;

static int add_entry(build *b, const dstr *key, size_t val_at,
                     size_t val_len, unsigned long line)
{
    entry *x;

    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        entry *ne;
        if (ncap > SIZE_MAX / sizeof *ne) {
            errno = ENOMEM;
            return -1;
        }
        ne = realloc(b->e, ncap * sizeof *ne);
        if (!ne)
            return -1;
        b->e = ne;
        b->cap = ncap;
    }
    x = &b->e[b->n];
    x->key_at = b->keys.len;
    x->key_len = key->len;
    x->val_at = val_at;
    x->val_len = val_len;
    x->line = line;
    x->dup = 0;
    if (key->len > UINT_MAX || val_len > UINT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    if (dstr_cat(&b->keys, key) == -1)
        return -1;
    b->n++;
    return 0;
}

static int cmp_entries(const void *pa, const void *pb, void *ctx)
{
    const build *b = ctx;
    const entry *x = &b->e[*(const size_t *)pa];
    const entry *y = &b->e[*(const size_t *)pb];
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = n ? memcmp(b->keys.s + x->key_at, b->keys.s + y->key_at, n) : 0;

    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Mark later duplicates of a key and note each in warnings. */
static int find_duplicates(build *b, dstr *warnings)
{
    size_t *idx, i, first;

    if (b->n < 2)
        return 0;
    if (b->n > SIZE_MAX / sizeof *idx) {
        errno = ENOMEM;
        return -1;
    }
    idx = malloc(b->n * sizeof *idx);
    if (!idx)
        return -1;
    for (i = 0; i < b->n; i++)
        idx[i] = i;
    qsort_r(idx, b->n, sizeof *idx, cmp_entries, b);
    /* sorted by key, then line: the first of each run of equal keys has
     * the lowest line and wins */
    first = 0;
    for (i = 1; i < b->n; i++) {
        entry *win = &b->e[idx[first]], *cur = &b->e[idx[i]];
        if (win->key_len != cur->key_len ||
            (cur->key_len && memcmp(b->keys.s + win->key_at,
                                    b->keys.s + cur->key_at,
                                    cur->key_len) != 0)) {
            first = i;
            continue;
        }
        cur->dup = 1;
        if (dstr_catf(warnings, "line %lu: ", cur->line) == -1 ||
            (cur->key_len
                 ? dstr_catb(warnings, b->keys.s + cur->key_at,
                             cur->key_len)
                 : dstr_cats(warnings, "the empty address")) == -1 ||
            dstr_catf(warnings, " was already given on line %lu, which "
                      "wins", win->line) == -1 ||
            dstr_catc(warnings, 0) == -1) {
            free(idx);
            return -1;
        }
    }
    free(idx);
    return 0;
}

static int syserr(dstr *err, const char *path, const char *what)
{
    char buf[1200];
    snprintf(buf, sizeof buf, "%s: %s: %s", path, what, strerror(errno));
    if (dstr_copys(err, buf) == -1 || dstr_cat0(err) == -1)
        err->len = 0;
    return -2;
}

static int write_cdb(const build *b, const char *cdb, const char *tmp,
                     dstr *err)
{
    struct cdb_make cm;
    size_t i;
    int fd, saved;

    if (unlink(tmp) == -1 && errno != ENOENT)
        return syserr(err, tmp, "cannot remove");
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0644);
    if (fd == -1)
        return syserr(err, tmp, "cannot create");
    if (cdb_make_start(&cm, fd) != 0)
        goto fail;
    if (cdb_make_add(&cm, TCPD_RULES_FORMAT_KEY,
                     sizeof TCPD_RULES_FORMAT_KEY - 1, TCPD_RULES_FORMAT,
                     sizeof TCPD_RULES_FORMAT - 1) != 0)
        goto fail_started;
    for (i = 0; i < b->n; i++) {
        const entry *x = &b->e[i];
        if (x->dup)
            continue;
        if (cdb_make_add(&cm, x->key_len ? b->keys.s + x->key_at : "",
                         (unsigned)x->key_len, b->vals.s + x->val_at,
                         (unsigned)x->val_len) != 0)
            goto fail_started;
    }
    if (cdb_make_finish(&cm) != 0 || fsync(fd) == -1)
        goto fail;
    if (close(fd) == -1) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, cdb) == -1) {
        syserr(err, cdb, "cannot rename the new rules into place");
        goto undo;
    }
    if (file_fsync_parent(cdb) == -1)
        return syserr(err, cdb, "cannot sync its directory");
    return 0;
fail_started:
    saved = errno;
    cdb_make_finish(&cm); /* the only way to free its records */
    errno = saved;
fail:
    syserr(err, tmp, "cannot write");
    if (fd != -1)
        close(fd);
undo:
    unlink(tmp);
    return -2;
}

int tcpd_rules_compile(int fd, const char *cdb, const char *tmp, dstr *err,
                       dstr *warnings)
{
    char buf[8192];
    bio in;
    build b;
    tcpd_rule *rule;
    dstr line = DSTR_ZERO, why = DSTR_ZERO, key = DSTR_ZERO,
         val = DSTR_ZERO;
    unsigned long lineno = 0;
    int r = -2, toolong, got;
    size_t i;

    memset(&b, 0, sizeof b);
    rule = calloc(1, sizeof *rule);
    if (!rule) {
        syserr(err, "rules", "cannot compile");
        return -2;
    }
    bio_init(&in, fd, buf, sizeof buf, 0);
    for (;;) {
        line.len = 0;
        got = bio_getline(&in, &line, TCPD_RULE_LINE_MAX, &toolong);
        if (got == 0)
            break;
        if (got == -1) {
            syserr(err, "standard input", "cannot read");
            goto out;
        }
        lineno++;
        if (toolong) {
            dstr_copys(err, "");
            if (dstr_catf(err, "line %lu: longer than %d bytes", lineno,
                          TCPD_RULE_LINE_MAX) == -1 ||
                dstr_cat0(err) == -1)
                err->len = 0;
            r = -1;
            goto out;
        }
        got = tcpd_rule_parse(line.s, line.len, rule, &why);
        if (got == 0)
            continue;
        if (got == -1) {
            dstr_copys(err, "");
            if (dstr_catf(err, "line %lu: %s", lineno,
                          why.len ? why.s : "out of memory") == -1 ||
                dstr_cat0(err) == -1)
                err->len = 0;
            r = -1;
            goto out;
        }
        if (tcpd_rule_value(rule, lineno, &val) == -1) {
            syserr(err, "rules", "cannot compile");
            goto out;
        }
        {
            size_t val_at = b.vals.len;
            if (dstr_cat(&b.vals, &val) == -1) {
                syserr(err, "rules", "cannot compile");
                goto out;
            }
            for (i = 0; i < rule->nprefix; i++)
                if (tcpd_prefix_key(&rule->prefix[i], &key) == -1 ||
                    add_entry(&b, &key, val_at, val.len, lineno) == -1) {
                    syserr(err, "rules", "cannot compile");
                    goto out;
                }
        }
    }
    if (find_duplicates(&b, warnings) == -1) {
        syserr(err, "rules", "cannot compile");
        goto out;
    }
    r = write_cdb(&b, cdb, tmp, err);
out:
    dstr_free(&rule->vars);
    free(rule);
    free(b.e);
    dstr_free(&b.keys);
    dstr_free(&b.vals);
    dstr_free(&line);
    dstr_free(&why);
    dstr_free(&key);
    dstr_free(&val);
    return r;
}
