/* remote_out.c: outcomes and output records.  See remote_out.h. */
#include "remote_out.h"

#include <string.h>

int remote_out_text(dstr *d, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (d->len >= REMOTE_TEXT_MAX) {
            if (d->len == REMOTE_TEXT_MAX && dstr_cats(d, "...") == -1)
                return -1;
            return 0;
        }
        if (c == '\t')
            c = ' ';
        if (c < 32 || c >= 127)
            c = '?';
        if (dstr_catc(d, (char)c) == -1)
            return -1;
    }
    return 0;
}

int remote_out_texts(dstr *d, const char *s)
{
    return remote_out_text(d, s, strlen(s));
}

int remote_out_reply(dstr *d, const remote_reply *r)
{
    size_t i = 0;
    int first = 1;

    while (i < r->text.len) {
        const char *line = r->text.s + i;
        const char *nl = memchr(line, '\n', r->text.len - i);
        size_t len = nl ? (size_t)(nl - line) : r->text.len - i;

        if (!first && remote_out_texts(d, " / ") == -1)
            return -1;
        if (remote_out_text(d, line, len) == -1)
            return -1;
        first = 0;
        i += len + 1;
    }
    return 0;
}

int remote_outcome_set(remote_outcome *o, char status, const dstr *text)
{
    o->status = status;
    return dstr_copy(&o->text, text);
}

char remote_out_summary(const remote_outcome *rcpts, size_t n)
{
    size_t i;
    int temp = 0;

    for (i = 0; i < n; i++) {
        if (rcpts[i].status == 'K')
            return 'K';
        if (rcpts[i].status != 'D')
            temp = 1;
    }
    return temp ? 'Z' : 'D';
}

static int record(dstr *out, const char *prefix, char status,
                  const dstr *text)
{
    size_t start;

    if (dstr_cats(out, prefix) == -1)
        return -1;
    if (status != 'K' && status != 'Z' && status != 'D') {
        status = 'Z';
        text = 0;
    }
    if (dstr_catc(out, status) == -1)
        return -1;
    start = out->len;
    if (text && text->len && dstr_catb(out, text->s, text->len) == -1)
        return -1;
    if (!text && dstr_cats(out, "qmail-remote: no outcome (bug) (#4.3.0)"))
        return -1;
    /* the text never holds a NUL (remote_out_text), but be sure */
    for (; start < out->len; start++)
        if (out->s[start] == 0)
            out->s[start] = '?';
    return dstr_catc(out, 0);
}

int remote_out_records(dstr *out, const remote_outcome *rcpts, size_t n,
                       const remote_outcome *msg)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (record(out, "r", rcpts[i].status, &rcpts[i].text) == -1)
            return -1;
    return record(out, "", msg->status, &msg->text);
}
