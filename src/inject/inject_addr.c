/*
 * inject_addr.c: RFC 5322 address lists for qmail-inject.  See
 * inject_addr.h.
 *
 * Two passes: a tokenizer turns the text into words (atoms, quoted
 * strings, domain literals) and specials, skipping white space, folding
 * and comments; a parser walks the tokens by item (separated by ',' and
 * ';' outside angle brackets, with ':' opening a group) and builds one
 * address per item, or several for old-style white-space lists.  Every
 * token keeps its byte span so that an address can be replaced in place.
 */
#include "inject_addr.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tok_type { TOK_ATOM, TOK_QUOTED, TOK_LITERAL, TOK_SPECIAL };

typedef struct tok {
    enum tok_type type;
    char ch;            /* the character of a TOK_SPECIAL */
    size_t start, end;  /* raw span in the text */
} tok;

typedef struct tokvec {
    tok *v;
    size_t n, cap;
} tokvec;

static int is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_special(unsigned char c)
{
    switch (c) {
    case '<': case '>': case '@': case ',': case ';': case ':': case '.':
        return 1;
    default:
        return 0;
    }
}

/* Ends an atom: white space, a special, or the start of a comment, quoted
 * string or domain literal. */
static int ends_atom(unsigned char c)
{
    return is_wsp(c) || is_special(c) || c == '(' || c == '"' || c == '[';
}

static int tok_push(tokvec *tv, enum tok_type type, char ch, size_t start,
                    size_t end)
{
    if (tv->n == tv->cap) {
        size_t ncap = tv->cap ? tv->cap * 2 : 16;
        tok *nv;
        if (ncap > SIZE_MAX / sizeof(tok)) {
            errno = ENOMEM;
            return -1;
        }
        nv = realloc(tv->v, ncap * sizeof(tok));
        if (!nv) {
            errno = ENOMEM;
            return -1;
        }
        tv->v = nv;
        tv->cap = ncap;
    }
    tv->v[tv->n].type = type;
    tv->v[tv->n].ch = ch;
    tv->v[tv->n].start = start;
    tv->v[tv->n].end = end;
    tv->n++;
    return 0;
}

/* Skip a quoted string, comment or literal opened at s[i]; returns the
 * index just past its closing character (or len when unterminated). */
static size_t skip_delimited(const char *s, size_t len, size_t i, char open,
                             char close)
{
    int depth = 1;

    i++;
    while (i < len && depth > 0) {
        if (s[i] == '\\' && i + 1 < len) {
            i += 2;
            continue;
        }
        if (s[i] == close)
            depth--;
        else if (s[i] == open && open != close)
            depth++;
        i++;
    }
    return i;
}

static int tokenize(const char *s, size_t len, tokvec *tv)
{
    size_t i = 0, start;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (is_wsp(c)) {
            i++;
        } else if (c == '(') {
            i = skip_delimited(s, len, i, '(', ')');
        } else if (c == '"') {
            start = i;
            i = skip_delimited(s, len, i, '"', '"');
            if (tok_push(tv, TOK_QUOTED, 0, start, i) == -1)
                return -1;
        } else if (c == '[') {
            start = i;
            i = skip_delimited(s, len, i, '[', ']');
            if (tok_push(tv, TOK_LITERAL, 0, start, i) == -1)
                return -1;
        } else if (is_special(c)) {
            if (tok_push(tv, TOK_SPECIAL, (char)c, i, i + 1) == -1)
                return -1;
            i++;
        } else {
            start = i;
            while (i < len && !ends_atom((unsigned char)s[i]))
                i++;
            if (tok_push(tv, TOK_ATOM, 0, start, i) == -1)
                return -1;
        }
    }
    return 0;
}

/* Append the value of a token: a quoted string without its quotes and
 * escapes, everything else as written; folding (CR, LF) is removed. */
static int tok_value(const char *s, const tok *t, dstr *out)
{
    size_t i = t->start, end = t->end;

    if (t->type == TOK_QUOTED) {
        i++;
        if (end > i && s[end - 1] == '"')
            end--;
    }
    for (; i < end; i++) {
        char c = s[i];
        if (c == '\r' || c == '\n')
            continue;
        if (t->type == TOK_QUOTED && c == '\\' && i + 1 < end)
            c = s[++i];
        if (dstr_catc(out, c) == -1)
            return -1;
    }
    return 0;
}

static int is_word(const tok *t)
{
    return t->type != TOK_SPECIAL;
}

static int special_is(const tok *t, char c)
{
    return t->type == TOK_SPECIAL && t->ch == c;
}

int inject_addrlist_push(inject_addrlist *l, const inject_addr *a)
{
    inject_addr *slot;

    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        inject_addr *nv;
        if (ncap > SIZE_MAX / sizeof(inject_addr)) {
            errno = ENOMEM;
            return -1;
        }
        nv = realloc(l->v, ncap * sizeof(inject_addr));
        if (!nv) {
            errno = ENOMEM;
            return -1;
        }
        l->v = nv;
        l->cap = ncap;
    }
    slot = &l->v[l->n];
    memset(slot, 0, sizeof *slot);
    if (dstr_copyb(&slot->local, a->local.s, a->local.len) == -1 ||
        dstr_copyb(&slot->domain, a->domain.s, a->domain.len) == -1) {
        dstr_free(&slot->local);
        dstr_free(&slot->domain);
        return -1;
    }
    slot->has_domain = a->has_domain;
    slot->is_null = a->is_null;
    slot->changed = a->changed;
    slot->start = a->start;
    slot->end = a->end;
    l->n++;
    return 0;
}

void inject_addrlist_clear(inject_addrlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        dstr_free(&l->v[i].local);
        dstr_free(&l->v[i].domain);
    }
    l->n = 0;
}

void inject_addrlist_free(inject_addrlist *l)
{
    inject_addrlist_clear(l);
    free(l->v);
    l->v = 0;
    l->cap = 0;
}

/* Build one address from tokens [lo, hi) and append it.  The last '@'
 * separates local part and domain. */
static int build_addr(const char *s, const tokvec *tv, size_t lo, size_t hi,
                      inject_addrlist *out)
{
    inject_addr a;
    size_t at = hi, k;
    int r = -1;

    if (lo >= hi)
        return 0;
    memset(&a, 0, sizeof a);
    for (k = lo; k < hi; k++)
        if (special_is(&tv->v[k], '@'))
            at = k;
    for (k = lo; k < at; k++)
        if (tok_value(s, &tv->v[k], &a.local) == -1)
            goto done;
    if (at < hi) {
        a.has_domain = 1;
        for (k = at + 1; k < hi; k++)
            if (tok_value(s, &tv->v[k], &a.domain) == -1)
                goto done;
    }
    a.start = tv->v[lo].start;
    a.end = tv->v[hi - 1].end;
    r = 0;
    if (a.local.len || a.domain.len)
        r = inject_addrlist_push(out, &a);
done:
    dstr_free(&a.local);
    dstr_free(&a.domain);
    return r;
}

/* An item "phrase <[route:]addr> ..." with '<' at index angle. */
static int angle_item(const char *s, const tokvec *tv, size_t angle,
                      size_t hi, inject_addrlist *out)
{
    size_t close = angle + 1, lo, k;

    while (close < hi && !special_is(&tv->v[close], '>'))
        close++;
    lo = angle + 1;
    for (k = lo; k < close; k++)
        if (special_is(&tv->v[k], ':'))
            lo = k + 1; /* drop an obsolete source route */
    if (lo == close) {
        inject_addr a;
        size_t at = tv->v[angle].end;
        if (angle + 1 != close)
            return 0; /* a route and nothing else: no address */
        memset(&a, 0, sizeof a);
        a.is_null = 1;
        a.start = a.end = at;
        return inject_addrlist_push(out, &a);
    }
    /* a stray '<' inside is not part of the address */
    for (k = lo; k < close; k++)
        if (special_is(&tv->v[k], '<'))
            lo = k + 1;
    return build_addr(s, tv, lo, close, out);
}

/* An item without angle brackets: one addr-spec, or several when words
 * follow each other with no '.' or '@' between them (old-style lists). */
static int plain_item(const char *s, const tokvec *tv, size_t lo, size_t hi,
                      inject_addrlist *out)
{
    size_t start = lo, k;
    int prev_word = 0;

    for (k = lo; k < hi; k++) {
        const tok *t = &tv->v[k];
        if (is_word(t)) {
            if (prev_word) {
                if (build_addr(s, tv, start, k, out) == -1)
                    return -1;
                start = k;
            }
            prev_word = 1;
        } else if (t->ch == '.' || t->ch == '@') {
            prev_word = 0;
        } else {
            /* a stray special ends the address */
            if (build_addr(s, tv, start, k, out) == -1)
                return -1;
            start = k + 1;
            prev_word = 0;
        }
    }
    return build_addr(s, tv, start, hi, out);
}

int inject_addr_parse(const char *s, size_t len, inject_addrlist *out)
{
    tokvec tv = {0, 0, 0};
    size_t i = 0;
    int r = -1;

    if (tokenize(s, len, &tv) == -1)
        goto done;
    while (i < tv.n) {
        size_t j;
        long angle = -1;
        int depth = 0;
        char sep = 0;

        for (j = i; j < tv.n; j++) {
            const tok *t = &tv.v[j];
            if (t->type != TOK_SPECIAL)
                continue;
            if (t->ch == '<') {
                if (angle < 0)
                    angle = (long)j;
                depth++;
            } else if (t->ch == '>') {
                if (depth > 0)
                    depth--;
            } else if (depth == 0 &&
                       (t->ch == ',' || t->ch == ';' ||
                        (t->ch == ':' && angle < 0))) {
                sep = t->ch;
                break;
            }
        }
        if (sep == ':') {
            /* "display name:" opens a group: the name is no address */
            i = j + 1;
            continue;
        }
        if (angle >= 0) {
            if (angle_item(s, &tv, (size_t)angle, j, out) == -1)
                goto done;
        } else if (plain_item(s, &tv, i, j, out) == -1) {
            goto done;
        }
        i = j + 1;
    }
    r = 0;
done:
    free(tv.v);
    return r;
}

static int dstr_caseeq(const dstr *d, const char *s)
{
    size_t n = strlen(s);
    return d->len == n && (n == 0 || strncasecmp(d->s, s, n) == 0);
}

int inject_addr_qualify(inject_addr *a, const inject_qual *q)
{
    if (a->is_null)
        return 0;
    if (!a->has_domain) {
        if (dstr_copys(&a->domain, q->defaulthost ? q->defaulthost : "") ==
            -1)
            return -1;
        a->has_domain = 1;
        a->changed = 1;
    }
    if (a->domain.len && a->domain.s[a->domain.len - 1] == '+') {
        a->domain.len--;
        if (q->plusdomain && *q->plusdomain) {
            if (a->domain.len && dstr_catc(&a->domain, '.') == -1)
                return -1;
            if (dstr_cats(&a->domain, q->plusdomain) == -1)
                return -1;
        }
        a->changed = 1;
    }
    if (a->domain.len && a->domain.s[0] != '[' &&
        !memchr(a->domain.s, '.', a->domain.len) && q->defaultdomain &&
        *q->defaultdomain && !dstr_caseeq(&a->domain, q->defaultdomain)) {
        if (dstr_catc(&a->domain, '.') == -1 ||
            dstr_cats(&a->domain, q->defaultdomain) == -1)
            return -1;
        a->changed = 1;
    }
    return 0;
}

int inject_addr_envelope(const inject_addr *a, dstr *out)
{
    if (a->is_null)
        return 0;
    if (dstr_catb(out, a->local.s, a->local.len) == -1)
        return -1;
    if (a->has_domain &&
        (dstr_catc(out, '@') == -1 ||
         dstr_catb(out, a->domain.s, a->domain.len) == -1))
        return -1;
    return 0;
}

/* RFC 5322 atext, plus any byte >= 128 (RFC 6532 allows UTF-8). */
static int is_atext(unsigned char c)
{
    if (c >= 128)
        return 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != 0;
}

static int is_dot_atom(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return 0;
    for (i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (!is_atext((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static int cat_quoted(const char *s, size_t len, dstr *out)
{
    size_t i;

    if (dstr_catc(out, '"') == -1)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 32 && c != '\t')
            continue;
        if (c == 127)
            continue;
        if ((c == '"' || c == '\\') && dstr_catc(out, '\\') == -1)
            return -1;
        if (dstr_catc(out, (char)c) == -1)
            return -1;
    }
    return dstr_catc(out, '"');
}

int inject_quote_local(const char *s, size_t len, dstr *out)
{
    if (is_dot_atom(s, len))
        return dstr_catb(out, s, len);
    return cat_quoted(s, len, out);
}

int inject_quote_phrase(const char *s, size_t len, dstr *out)
{
    size_t i;
    int plain = len > 0 && s[0] != ' ' && s[len - 1] != ' ';

    for (i = 0; plain && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ')
            plain = s[i + 1] != ' ';
        else if (!is_atext(c))
            plain = 0;
    }
    if (plain)
        return dstr_catb(out, s, len);
    return cat_quoted(s, len, out);
}

int inject_addr_render(const inject_addr *a, dstr *out)
{
    if (a->is_null)
        return 0;
    if (inject_quote_local(a->local.s ? a->local.s : "", a->local.len,
                           out) == -1)
        return -1;
    if (a->has_domain &&
        (dstr_catc(out, '@') == -1 ||
         dstr_catb(out, a->domain.s, a->domain.len) == -1))
        return -1;
    return 0;
}

int inject_addr_rewrite(const char *s, size_t len, const inject_qual *q,
                        dstr *out, inject_addrlist *addrs)
{
    inject_addrlist list = INJECT_ADDRLIST_ZERO;
    size_t pos = 0, i;
    int r = -1;

    if (inject_addr_parse(s, len, &list) == -1)
        goto done;
    for (i = 0; i < list.n; i++) {
        inject_addr *a = &list.v[i];
        if (inject_addr_qualify(a, q) == -1)
            goto done;
        if (!a->changed)
            continue;
        if (dstr_catb(out, s + pos, a->start - pos) == -1 ||
            inject_addr_render(a, out) == -1)
            goto done;
        pos = a->end;
    }
    if (dstr_catb(out, s + pos, len - pos) == -1)
        goto done;
    if (addrs)
        for (i = 0; i < list.n; i++)
            if (inject_addrlist_push(addrs, &list.v[i]) == -1)
                goto done;
    r = 0;
done:
    inject_addrlist_free(&list);
    return r;
}
