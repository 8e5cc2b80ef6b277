// modules: src/inject
/*
 * test_inject.c: unit tests of qmail-inject's modules: address lists
 * (inject_addr), header fix-up (inject_header), input normalization
 * (inject_input) and the envelope (inject_env).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/inject/inject_addr.h"
#include "../../src/inject/inject_env.h"
#include "../../src/inject/inject_header.h"
#include "../../src/inject/inject_input.h"

static const inject_qual qual = {"host", "example.com", "plus.example.org"};

/* Parse s and return the envelope forms joined by '|' (unqualified). */
static char *parse_env(const char *s)
{
    static char buf[4096];
    inject_addrlist l = INJECT_ADDRLIST_ZERO;
    dstr out = DSTR_ZERO;
    size_t i;

    ck_assert_int_eq(inject_addr_parse(s, strlen(s), &l), 0);
    for (i = 0; i < l.n; i++) {
        if (i)
            dstr_catc(&out, '|');
        if (l.v[i].is_null)
            dstr_cats(&out, "<>");
        else
            inject_addr_envelope(&l.v[i], &out);
    }
    ck_assert_uint_lt(out.len, sizeof buf);
    memcpy(buf, out.s ? out.s : "", out.len);
    buf[out.len] = 0;
    dstr_free(&out);
    inject_addrlist_free(&l);
    return buf;
}

/* Qualify one address given as text, return its envelope form. */
static char *qualify(const char *s)
{
    static char buf[4096];
    inject_addrlist l = INJECT_ADDRLIST_ZERO;
    dstr out = DSTR_ZERO;

    ck_assert_int_eq(inject_addr_parse(s, strlen(s), &l), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(inject_addr_qualify(&l.v[0], &qual), 0);
    inject_addr_envelope(&l.v[0], &out);
    memcpy(buf, out.s ? out.s : "", out.len);
    buf[out.len] = 0;
    dstr_free(&out);
    inject_addrlist_free(&l);
    return buf;
}

static char *rewrite(const char *s)
{
    static char buf[4096];
    dstr out = DSTR_ZERO;

    ck_assert_int_eq(inject_addr_rewrite(s, strlen(s), &qual, &out, 0), 0);
    memcpy(buf, out.s ? out.s : "", out.len);
    buf[out.len] = 0;
    dstr_free(&out);
    return buf;
}

START_TEST(parse_simple)
{
    ck_assert_str_eq(parse_env("joe@example.com"), "joe@example.com");
    ck_assert_str_eq(parse_env(" a@b.c , d@e.f "), "a@b.c|d@e.f");
    ck_assert_str_eq(parse_env("joe"), "joe");
    ck_assert_str_eq(parse_env(""), "");
    ck_assert_str_eq(parse_env(" , ,"), "");
}
END_TEST

START_TEST(parse_angle)
{
    ck_assert_str_eq(parse_env("Joe Smith <joe@x.org>"), "joe@x.org");
    ck_assert_str_eq(parse_env("\"Smith, Joe\" <joe@x.org>, b@y.org"),
                     "joe@x.org|b@y.org");
    ck_assert_str_eq(parse_env("<@r1.net,@r2.net:joe@x.org>"), "joe@x.org");
    ck_assert_str_eq(parse_env("<>"), "<>");
    ck_assert_str_eq(parse_env("Joe <joe@x.org> (home), <b@y>"),
                     "joe@x.org|b@y");
}
END_TEST

START_TEST(parse_comments_quotes)
{
    ck_assert_str_eq(parse_env("joe@x.org (Joe (the) Smith, Jr.)"),
                     "joe@x.org");
    ck_assert_str_eq(parse_env("(a, b) joe@x.org"), "joe@x.org");
    ck_assert_str_eq(parse_env("\"joe smith\"@x.org"), "joe smith@x.org");
    ck_assert_str_eq(parse_env("\"a\\\"b\"@x.org"), "a\"b@x.org");
    ck_assert_str_eq(parse_env("\"a@b\"@x.org"), "a@b@x.org");
    ck_assert_str_eq(parse_env("joe@[192.0.2.1]"), "joe@[192.0.2.1]");
    ck_assert_str_eq(parse_env("joe . smith @ x . org"), "joe.smith@x.org");
    ck_assert_str_eq(parse_env("joe@x.org (unterminated"), "joe@x.org");
}
END_TEST

START_TEST(parse_groups)
{
    ck_assert_str_eq(parse_env("friends: a@b.c, Dee <d@e.f>;, g@h.i"),
                     "a@b.c|d@e.f|g@h.i");
    ck_assert_str_eq(parse_env("undisclosed-recipients:;"), "");
    ck_assert_str_eq(parse_env("g: ;"), "");
}
END_TEST

START_TEST(parse_folded_and_old_style)
{
    ck_assert_str_eq(parse_env("a@b.c,\n d@e.f,\r\n\tg"), "a@b.c|d@e.f|g");
    ck_assert_str_eq(parse_env("joe bob@x.org"), "joe|bob@x.org");
}
END_TEST

START_TEST(qualify_rules)
{
    ck_assert_str_eq(qualify("joe"), "joe@host.example.com");
    ck_assert_str_eq(qualify("joe@box"), "joe@box.example.com");
    ck_assert_str_eq(qualify("joe@box.net"), "joe@box.net");
    ck_assert_str_eq(qualify("joe@box+"), "joe@box.plus.example.org");
    ck_assert_str_eq(qualify("joe@[10.0.0.1]"), "joe@[10.0.0.1]");
    ck_assert_str_eq(qualify("joe@example.com"), "joe@example.com");
    ck_assert_str_eq(qualify("<>"), "");
}
END_TEST

START_TEST(qualify_no_defaultdomain)
{
    inject_qual q = {"localhost", "", ""};
    inject_addrlist l = INJECT_ADDRLIST_ZERO;
    dstr out = DSTR_ZERO;

    ck_assert_int_eq(inject_addr_parse("a, b@c+", 7, &l), 0);
    ck_assert_uint_eq(l.n, 2);
    inject_addr_qualify(&l.v[0], &q);
    inject_addr_qualify(&l.v[1], &q);
    inject_addr_envelope(&l.v[0], &out);
    dstr_catc(&out, ' ');
    inject_addr_envelope(&l.v[1], &out);
    dstr_cat0(&out);
    ck_assert_str_eq(out.s, "a@localhost b@c");
    dstr_free(&out);
    inject_addrlist_free(&l);
}
END_TEST

START_TEST(qualify_same_as_defaultdomain)
{
    /* me = localhost: "localhost" must not become localhost.localhost */
    inject_qual q = {"localhost", "localhost", "localhost"};
    inject_addrlist l = INJECT_ADDRLIST_ZERO;
    dstr out = DSTR_ZERO;

    ck_assert_int_eq(inject_addr_parse("demo", 4, &l), 0);
    inject_addr_qualify(&l.v[0], &q);
    inject_addr_envelope(&l.v[0], &out);
    dstr_cat0(&out);
    ck_assert_str_eq(out.s, "demo@localhost");
    dstr_free(&out);
    inject_addrlist_free(&l);
}
END_TEST

START_TEST(rewrite_keeps_text)
{
    ck_assert_str_eq(rewrite(" joe\n"), " joe@host.example.com\n");
    ck_assert_str_eq(rewrite(" Joe (x) <joe>, b@c.d (keep)\n"),
                     " Joe (x) <joe@host.example.com>, b@c.d (keep)\n");
    ck_assert_str_eq(rewrite(" a@b.c,\n\tjoe@box\n"),
                     " a@b.c,\n\tjoe@box.example.com\n");
    ck_assert_str_eq(rewrite(" \"joe smith\"\n"),
                     " \"joe smith\"@host.example.com\n");
    ck_assert_str_eq(rewrite(" list: a, b@c.d;\n"),
                     " list: a@host.example.com, b@c.d;\n");
    ck_assert_str_eq(rewrite(" <>\n"), " <>\n");
}
END_TEST

START_TEST(quoting)
{
    dstr d = DSTR_ZERO;

    inject_quote_local("a.b+c", 5, &d);
    dstr_catc(&d, ' ');
    inject_quote_local("a b", 3, &d);
    dstr_catc(&d, ' ');
    inject_quote_local("a..b", 4, &d);
    dstr_catc(&d, ' ');
    inject_quote_local("q\"\\", 3, &d);
    dstr_cat0(&d);
    ck_assert_str_eq(d.s, "a.b+c \"a b\" \"a..b\" \"q\\\"\\\\\"");
    d.len = 0;
    inject_quote_phrase("Joe Smith", 9, &d);
    dstr_catc(&d, ' ');
    inject_quote_phrase("Smith, Joe", 10, &d);
    dstr_catc(&d, ' ');
    inject_quote_phrase("J. Smith", 8, &d);
    dstr_cat0(&d);
    ck_assert_str_eq(d.s, "Joe Smith \"Smith, Joe\" \"J. Smith\"");
    dstr_free(&d);
}
END_TEST

START_TEST(fieldnames)
{
    size_t v = 0;

    ck_assert_uint_eq(inject_header_fieldname("To: a\n", 6, &v), 2);
    ck_assert_uint_eq(v, 3);
    ck_assert_uint_eq(inject_header_fieldname("Subject : x\n", 12, &v), 7);
    ck_assert_uint_eq(v, 9);
    ck_assert_uint_eq(inject_header_fieldname("X-A:", 4, &v), 3);
    ck_assert_uint_eq(inject_header_fieldname("no header\n", 10, &v), 0);
    ck_assert_uint_eq(inject_header_fieldname(": x\n", 4, &v), 0);
    ck_assert_uint_eq(inject_header_fieldname(" To: x\n", 7, &v), 0);
    ck_assert_uint_eq(inject_header_fieldname("From joe Mon\n", 13, &v), 0);
    ck_assert(inject_header_is_continuation("\tx\n", 3));
    ck_assert(!inject_header_is_continuation("x\n", 2));
}
END_TEST

static void build_header(inject_header *h, const char *const *lines)
{
    for (; *lines; lines++) {
        if (inject_header_is_continuation(*lines, strlen(*lines)))
            ck_assert_int_eq(
                inject_header_continue(h, *lines, strlen(*lines)), 0);
        else
            ck_assert_int_eq(inject_header_add(h, *lines, strlen(*lines)),
                             0);
    }
}

static char *rcpts_of(const inject_fixed *fx)
{
    static char buf[4096];
    dstr d = DSTR_ZERO;
    size_t i;

    for (i = 0; i < fx->rcpts.n; i++) {
        if (i)
            dstr_catc(&d, ' ');
        inject_addr_envelope(&fx->rcpts.v[i], &d);
    }
    memcpy(buf, d.s ? d.s : "", d.len);
    buf[d.len] = 0;
    dstr_free(&d);
    return buf;
}

START_TEST(header_fix_plain)
{
    static const char *const lines[] = {
        "Received: from x\n", "To: joe,\n", " bob@box\n",
        "bcc: secret\n", "Return-Path: <rp@x.org>\n",
        "Content-Length: 12\n", "Subject: hi\n", "Cc: c@d.e\n", 0};
    inject_header h = INJECT_HEADER_ZERO;
    inject_fixed fx;
    dstr out = DSTR_ZERO;

    memset(&fx, 0, sizeof fx);
    build_header(&h, lines);
    ck_assert_uint_eq(h.n, 7);
    ck_assert_int_eq(inject_header_fix(&h, &qual, 0, &out, &fx), 0);
    dstr_cat0(&out);
    ck_assert_str_eq(out.s, "Received: from x\n"
                            "To: joe@host.example.com,\n"
                            " bob@box.example.com\n"
                            "Subject: hi\n"
                            "Cc: c@d.e\n");
    ck_assert_str_eq(rcpts_of(&fx),
                     "joe@host.example.com bob@box.example.com "
                     "secret@host.example.com c@d.e");
    ck_assert_int_eq(fx.resent, 0);
    ck_assert_int_eq(fx.have_return_path, 1);
    ck_assert_uint_eq(fx.seen, 0);
    inject_fixed_free(&fx);
    inject_header_free(&h);
    dstr_free(&out);
}
END_TEST

START_TEST(header_fix_resent)
{
    static const char *const lines[] = {
        "From: a@b.c\n", "To: old@b.c\n", "Date: x\n",
        "Resent-To: new\n", "Resent-Bcc: hidden@b.c\n", 0};
    inject_header h = INJECT_HEADER_ZERO;
    inject_fixed fx;
    dstr out = DSTR_ZERO;

    memset(&fx, 0, sizeof fx);
    build_header(&h, lines);
    ck_assert_int_eq(inject_header_fix(&h, &qual, 0, &out, &fx), 0);
    ck_assert_int_eq(fx.resent, 1);
    ck_assert_str_eq(rcpts_of(&fx), "new@host.example.com hidden@b.c");
    ck_assert_uint_eq(fx.seen, INJECT_SEEN_FROM | INJECT_SEEN_DATE);
    out.len = 0;
    ck_assert_int_eq(
        inject_header_additions(&fx, "D", "<M@h>", "F <f@h>", &out), 0);
    dstr_cat0(&out);
    ck_assert_str_eq(out.s, "Resent-Date: D\nResent-Message-ID: <M@h>\n"
                            "Resent-From: F <f@h>\nMessage-ID: <M@h>\n");
    inject_fixed_free(&fx);
    inject_header_free(&h);
    dstr_free(&out);
}
END_TEST

START_TEST(header_fix_drop_flags)
{
    static const char *const lines[] = {
        "From: a@b.c\n", "Message-Id: <x@y>\n", "To: t@u.v\n", 0};
    inject_header h = INJECT_HEADER_ZERO;
    inject_fixed fx;
    dstr out = DSTR_ZERO;

    memset(&fx, 0, sizeof fx);
    build_header(&h, lines);
    ck_assert_int_eq(inject_header_fix(&h, &qual,
                                       INJECT_DROP_FROM | INJECT_DROP_MSGID,
                                       &out, &fx),
                     0);
    dstr_cat0(&out);
    ck_assert_str_eq(out.s, "To: t@u.v\n");
    ck_assert_uint_eq(fx.seen, 0);
    inject_fixed_free(&fx);
    inject_header_free(&h);
    dstr_free(&out);
}
END_TEST

START_TEST(header_return_path_null)
{
    static const char *const lines[] = {"Return-Path: <>\n", 0};
    inject_header h = INJECT_HEADER_ZERO;
    inject_fixed fx;
    dstr out = DSTR_ZERO;

    memset(&fx, 0, sizeof fx);
    build_header(&h, lines);
    ck_assert_int_eq(inject_header_fix(&h, &qual, 0, &out, &fx), 0);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(fx.have_return_path, 1);
    ck_assert_int_eq(fx.return_path.is_null, 1);
    inject_fixed_free(&fx);
    inject_header_free(&h);
    dstr_free(&out);
}
END_TEST

START_TEST(make_from_forms)
{
    dstr d = DSTR_ZERO;

    inject_make_from(&d, "Joe Smith", "joe", "x.org", 0);
    dstr_catc(&d, '|');
    inject_make_from(&d, "", "joe", "x.org", 0);
    dstr_catc(&d, '|');
    inject_make_from(&d, "Smith, Joe", "joe", "x.org", 0);
    dstr_catc(&d, '|');
    inject_make_from(&d, "Joe (J)", "joe", "x.org", 1);
    dstr_cat0(&d);
    ck_assert_str_eq(d.s, "Joe Smith <joe@x.org>|joe@x.org|"
                          "\"Smith, Joe\" <joe@x.org>|"
                          "joe@x.org (Joe \\(J\\))");
    dstr_free(&d);
}
END_TEST

START_TEST(msgid_unique)
{
    dstr a = DSTR_ZERO, b = DSTR_ZERO;

    inject_make_msgid(&a, "id.example");
    inject_make_msgid(&b, "id.example");
    dstr_cat0(&a);
    dstr_cat0(&b);
    ck_assert_str_ne(a.s, b.s);
    ck_assert_int_eq(a.s[0], '<');
    ck_assert_ptr_nonnull(strstr(a.s, "@id.example>"));
    dstr_free(&a);
    dstr_free(&b);
}
END_TEST

/* Run the filter over in, fed in pieces of chunk bytes (0: all at once),
 * and return the output. */
static char *norm(const char *in, size_t len, int dot_ends, size_t chunk)
{
    static char buf[4096];
    char out[4096];
    inject_norm n;
    size_t pos = 0, o = 0, used;

    inject_norm_init(&n, dot_ends);
    while (pos < len && !n.ended) {
        size_t take = chunk && len - pos > chunk ? chunk : len - pos;
        o += inject_norm_feed(&n, in + pos, take, out + o, &used);
        pos += used;
        if (used < take)
            break;
    }
    o += inject_norm_finish(&n, out + o);
    memcpy(buf, out, o);
    buf[o] = 0;
    return buf;
}

START_TEST(norm_crlf_and_dot)
{
    const char *m = "a\r\nb\rc\r\n.x\r\n..\r\n.\r\nnot\n";
    size_t chunk;

    for (chunk = 0; chunk <= 5; chunk++) {
        ck_assert_str_eq(norm(m, strlen(m), 1, chunk),
                         "a\nb\rc\n.x\n..\n");
        ck_assert_str_eq(norm(m, strlen(m), 0, chunk),
                         "a\nb\rc\n.x\n..\n.\nnot\n");
    }
    ck_assert_str_eq(norm(".\n", 2, 1, 0), "");
    ck_assert_str_eq(norm("x\n.", 3, 1, 0), "x\n");
    ck_assert_str_eq(norm("x\n.", 3, 0, 0), "x\n.\n");
    ck_assert_str_eq(norm("no newline", 10, 0, 0), "no newline\n");
    ck_assert_str_eq(norm("cr at end\r", 10, 0, 0), "cr at end\r\n");
    ck_assert_str_eq(norm("", 0, 1, 0), "");
    ck_assert_str_eq(norm("a. \n.\r\r\n", 8, 1, 1), "a. \n.\r\n");
}
END_TEST

START_TEST(input_lines)
{
    int p[2];
    inject_in *in = malloc(sizeof *in);
    dstr line = DSTR_ZERO;
    int toolong;
    const char *chunk;
    long n;

    ck_assert_ptr_nonnull(in);
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "To: x\r\n0123456789\nrest", 22), 22);
    close(p[1]);
    inject_in_init(in, p[0], 0);
    ck_assert_int_eq(inject_in_getline(in, &line, 100, &toolong), 1);
    ck_assert_int_eq(toolong, 0);
    ck_assert_uint_eq(line.len, 6);
    ck_assert(memcmp(line.s, "To: x\n", 6) == 0);
    line.len = 0;
    ck_assert_int_eq(inject_in_getline(in, &line, 4, &toolong), 1);
    ck_assert_int_eq(toolong, 1);
    ck_assert_uint_eq(line.len, 4);
    n = inject_in_chunk(in, &chunk);
    ck_assert_int_eq(n, 11);
    ck_assert(memcmp(chunk, "456789\nrest", 11) == 0);
    n = inject_in_chunk(in, &chunk); /* the LF added at the end */
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(chunk[0], '\n');
    ck_assert_int_eq(inject_in_chunk(in, &chunk), 0);
    close(p[0]);
    dstr_free(&line);
    free(in);
}
END_TEST

START_TEST(envelope_bytes)
{
    inject_env e = INJECT_ENV_ZERO;
    static const char want[] = "Fs@x\0Ta@x\0Tb@x\0";
    int i;

    ck_assert_int_eq(inject_env_sender(&e, "s@x", 3), 0);
    ck_assert_int_eq(inject_env_rcpt(&e, "a@x", 3), 1);
    ck_assert_int_eq(inject_env_rcpt(&e, "b@x", 3), 1);
    ck_assert_int_eq(inject_env_rcpt(&e, "a@x", 3), 0);
    ck_assert_int_eq(inject_env_finish(&e), 0);
    ck_assert_uint_eq(e.nrcpts, 2);
    ck_assert_uint_eq(e.buf.len, sizeof want);
    ck_assert(memcmp(e.buf.s, want, sizeof want) == 0);
    inject_env_free(&e);

    /* many recipients: the set grows and still finds duplicates */
    ck_assert_int_eq(inject_env_sender(&e, "", 0), 0);
    for (i = 0; i < 5000; i++) {
        char a[32];
        int n = snprintf(a, sizeof a, "u%d@x", i);
        ck_assert_int_eq(inject_env_rcpt(&e, a, (size_t)n), 1);
    }
    ck_assert_int_eq(inject_env_rcpt(&e, "u4321@x", 7), 0);
    ck_assert_uint_eq(e.nrcpts, 5000);
    ck_assert(memcmp(e.buf.s, "F\0Tu0@x\0", 8) == 0);
    inject_env_free(&e);
}
END_TEST

static Suite *inject_suite(void)
{
    Suite *s = suite_create("inject");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, parse_simple);
    tcase_add_test(tc, parse_angle);
    tcase_add_test(tc, parse_comments_quotes);
    tcase_add_test(tc, parse_groups);
    tcase_add_test(tc, parse_folded_and_old_style);
    tcase_add_test(tc, qualify_rules);
    tcase_add_test(tc, qualify_no_defaultdomain);
    tcase_add_test(tc, qualify_same_as_defaultdomain);
    tcase_add_test(tc, rewrite_keeps_text);
    tcase_add_test(tc, quoting);
    tcase_add_test(tc, fieldnames);
    tcase_add_test(tc, header_fix_plain);
    tcase_add_test(tc, header_fix_resent);
    tcase_add_test(tc, header_fix_drop_flags);
    tcase_add_test(tc, header_return_path_null);
    tcase_add_test(tc, make_from_forms);
    tcase_add_test(tc, msgid_unique);
    tcase_add_test(tc, norm_crlf_and_dot);
    tcase_add_test(tc, input_lines);
    tcase_add_test(tc, envelope_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(inject_suite());
    int failures;

    srunner_run_all(sr, CK_NORMAL);
    failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures != 0;
}
