// modules: src/remote
/* Unit tests: qmail-remote's parsers and encoders: SMTP replies, EHLO
 * extensions, smtproutes, the DATA encoder, MX records and their order,
 * SMTP paths, addresses, output records. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "remote_enc.h"
#include "remote_ip.h"
#include "remote_mx.h"
#include "remote_out.h"
#include "remote_path.h"
#include "remote_reply.h"
#include "remote_route.h"
#include "remote_smtp.h"

/* ---- replies ------------------------------------------------------------ */

static int feed(remote_reply *r, const char *line)
{
    return remote_reply_feed(r, line, strlen(line));
}

START_TEST(reply_single_and_multi)
{
    remote_reply r = {0, 0, 0, DSTR_ZERO};

    ck_assert_int_eq(feed(&r, "250 ok"), 1);
    ck_assert_int_eq(r.code, 250);
    ck_assert_int_eq(remote_reply_class(&r), 2);
    ck_assert_int_eq(r.text.len, 7);
    ck_assert_int_eq(memcmp(r.text.s, "250 ok\n", 7), 0);

    remote_reply_reset(&r);
    ck_assert_int_eq(feed(&r, "250-first"), 0);
    ck_assert_int_eq(feed(&r, "250-PIPELINING"), 0);
    ck_assert_int_eq(feed(&r, "250 last"), 1);
    ck_assert_uint_eq(r.nlines, 3);
    ck_assert_int_eq(r.text.len, strlen("250-first\n250-PIPELINING\n250 last\n"));

    /* a bare code is a complete reply */
    remote_reply_reset(&r);
    ck_assert_int_eq(feed(&r, "354"), 1);
    ck_assert_int_eq(r.code, 354);
    remote_reply_free(&r);
}
END_TEST

START_TEST(reply_malformed)
{
    static const char *bad[] = {
        "",          "25",     "abc hello", "250x",  "2500 too long code",
        "150 early", "650 no", "099 no",    "25 0 x", "-250 x",
    };
    remote_reply r = {0, 0, 0, DSTR_ZERO};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        remote_reply_reset(&r);
        errno = 0;
        ck_assert_msg(feed(&r, bad[i]) == -1, "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(errno, EPROTO);
    }
    /* a code that changes inside a reply */
    remote_reply_reset(&r);
    ck_assert_int_eq(feed(&r, "250-one"), 0);
    ck_assert_int_eq(feed(&r, "251 two"), -1);
    /* nothing after the last line */
    remote_reply_reset(&r);
    ck_assert_int_eq(feed(&r, "250 one"), 1);
    ck_assert_int_eq(feed(&r, "250 two"), -1);
    remote_reply_free(&r);
}
END_TEST

START_TEST(reply_too_many_lines)
{
    remote_reply r = {0, 0, 0, DSTR_ZERO};
    size_t i;

    for (i = 0; i < REMOTE_REPLY_LINES_MAX - 1; i++)
        ck_assert_int_eq(feed(&r, "250-more"), 0);
    ck_assert_int_eq(feed(&r, "250-more"), 0); /* the 100th, not last */
    ck_assert_int_eq(feed(&r, "250 end"), -1);
    ck_assert_int_eq(errno, EPROTO);
    /* exactly the limit is fine */
    remote_reply_reset(&r);
    for (i = 0; i < REMOTE_REPLY_LINES_MAX - 1; i++)
        ck_assert_int_eq(feed(&r, "250-more"), 0);
    ck_assert_int_eq(feed(&r, "250 end"), 1);
    remote_reply_free(&r);
}
END_TEST

/* Read one reply from a socket whose other end wrote data (then closed
 * it when close_after). */
static int read_from(const char *data, size_t len, int close_after,
                     remote_reply *r, int timeout)
{
    int sv[2], res, saved;
    remote_in in;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    if (len)
        ck_assert_int_eq(write(sv[1], data, len), (ssize_t)len);
    if (close_after)
        close(sv[1]);
    remote_in_init(&in, sv[0]);
    res = remote_reply_read(&in, r, timeout);
    saved = errno;
    close(sv[0]);
    if (!close_after)
        close(sv[1]);
    errno = saved;
    return res;
}

START_TEST(reply_read_lines)
{
    remote_reply r = {0, 0, 0, DSTR_ZERO};
    const char *multi = "250-mx.example\r\n250-SIZE 1000\n250 8BITMIME\r\n";

    ck_assert_int_eq(read_from(multi, strlen(multi), 1, &r, 5), 0);
    ck_assert_int_eq(r.code, 250);
    ck_assert_uint_eq(r.nlines, 3);
    ck_assert_int_eq(memcmp(r.text.s, "250-mx.example\n250-SIZE 1000\n"
                                      "250 8BITMIME\n", r.text.len), 0);
    /* the connection ends inside a reply */
    ck_assert_int_eq(read_from("250-a\r\n250 b", 12, 1, &r, 5), -1);
    ck_assert_int_eq(errno, ECONNRESET);
    ck_assert_int_eq(read_from("", 0, 1, &r, 5), -1);
    ck_assert_int_eq(errno, ECONNRESET);
    /* garbage */
    ck_assert_int_eq(read_from("HTTP/1.0 400\r\n", 14, 1, &r, 5), -1);
    ck_assert_int_eq(errno, EPROTO);
    /* nothing comes: the deadline */
    ck_assert_int_eq(read_from("220-slow\r\n", 10, 0, &r, 1), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    remote_reply_free(&r);
}
END_TEST

START_TEST(reply_read_overlong)
{
    remote_reply r = {0, 0, 0, DSTR_ZERO};
    size_t n = REMOTE_REPLY_LINE_MAX + 10;
    char *big = malloc(n + 2);

    ck_assert_ptr_nonnull(big);
    memset(big, 'x', n);
    memcpy(big, "250 ", 4);
    big[n] = '\r';
    big[n + 1] = '\n';
    ck_assert_int_eq(read_from(big, n + 2, 1, &r, 5), -1);
    ck_assert_int_eq(errno, EPROTO);
    /* the longest line allowed */
    n = REMOTE_REPLY_LINE_MAX - 2;
    big[n] = '\r';
    big[n + 1] = '\n';
    ck_assert_int_eq(read_from(big, n + 2, 1, &r, 5), 0);
    ck_assert_uint_eq(r.text.len, n + 1);
    free(big);
    remote_reply_free(&r);
}
END_TEST

START_TEST(ehlo_extensions)
{
    remote_reply r = {0, 0, 0, DSTR_ZERO};

    feed(&r, "250-mx.example says PIPELINING 8BITMIME SIZE");
    feed(&r, "250-pipelining");
    feed(&r, "250-SIZE 10240000");
    feed(&r, "250-8BITMIMEX");
    feed(&r, "250 ");
    ck_assert_uint_eq(remote_smtp_extensions(&r),
                      REMOTE_EXT_PIPELINING | REMOTE_EXT_SIZE);
    remote_reply_reset(&r);
    feed(&r, "250-x");
    feed(&r, "250 8bitmime");
    ck_assert_uint_eq(remote_smtp_extensions(&r), REMOTE_EXT_8BITMIME);
    /* the greeting line alone offers nothing */
    remote_reply_reset(&r);
    feed(&r, "250 PIPELINING");
    ck_assert_uint_eq(remote_smtp_extensions(&r), 0);
    remote_reply_free(&r);
}
END_TEST

/* ---- smtproutes ----------------------------------------------------------- */

START_TEST(route_parse_lines)
{
    remote_route rt = {0, DSTR_ZERO, 0};
    dstr dom = DSTR_ZERO;

    ck_assert_int_eq(remote_route_parse("Example.COM:relay.example.net", &dom,
                                        &rt), 0);
    ck_assert_str_eq(dom.s, "example.com");
    ck_assert_str_eq(rt.relay.s, "relay.example.net");
    ck_assert_int_eq(rt.mx, 0);
    ck_assert_uint_eq(rt.port, 25);

    ck_assert_int_eq(remote_route_parse(".example.com:[192.0.2.7]:2525", &dom,
                                        &rt), 0);
    ck_assert_str_eq(dom.s, ".example.com");
    ck_assert_str_eq(rt.relay.s, "[192.0.2.7]");
    ck_assert_uint_eq(rt.port, 2525);

    ck_assert_int_eq(remote_route_parse(":[IPv6:2001:db8::1]:26", &dom, &rt),
                     0);
    ck_assert_str_eq(dom.s, "");
    ck_assert_str_eq(rt.relay.s, "[IPv6:2001:db8::1]");
    ck_assert_uint_eq(rt.port, 26);

    ck_assert_int_eq(remote_route_parse("direct.example:", &dom, &rt), 0);
    ck_assert_int_eq(rt.mx, 1);
    ck_assert_uint_eq(rt.port, 25);

    ck_assert_int_eq(remote_route_parse("::2526", &dom, &rt), 0);
    ck_assert_int_eq(rt.mx, 1);
    ck_assert_uint_eq(rt.port, 2526);

    static const char *bad[] = {
        "no-colon",         "a:relay:0",         "a:relay:65536",
        "a:relay:x",        "a:relay:25:26",     "a:[192.0.2.1",
        "a:[not.an.ip]",    "a:re lay",          "a:relay:",
        "a b:relay",        "a:[192.0.2.1]x",    "a:relay:-1",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(remote_route_parse(bad[i], &dom, &rt) == -1 &&
                          errno == EINVAL,
                      "accepted \"%s\"", bad[i]);
    remote_route_free(&rt);
    dstr_free(&dom);
}
END_TEST

static void list_of(dstr *d, const char *const *lines)
{
    d->len = 0;
    for (; *lines; lines++) {
        ck_assert_int_eq(dstr_cats(d, *lines), 0);
        ck_assert_int_eq(dstr_catc(d, 0), 0);
    }
}

static const char *route_for(const dstr *list, const char *domain,
                             remote_route *rt)
{
    int r = remote_route_find(list, domain, rt, 0);
    ck_assert_int_ge(r, 0);
    return rt->mx ? "MX" : rt->relay.s;
}

START_TEST(route_matching)
{
    static const char *const lines[] = {
        ".example.com:suffix.relay",
        "mail.example.com:exact.relay:2525",
        ".b.example.com:longer.relay",
        "direct.example.com:",
        ":default.relay",
        "broken.example.org:bad relay",
        0,
    };
    remote_route rt = {0, DSTR_ZERO, 0};
    dstr list = DSTR_ZERO, what = DSTR_ZERO;

    list_of(&list, lines);
    ck_assert_str_eq(route_for(&list, "mail.example.com", &rt), "exact.relay");
    ck_assert_uint_eq(rt.port, 2525);
    ck_assert_str_eq(route_for(&list, "x.example.com", &rt), "suffix.relay");
    ck_assert_uint_eq(rt.port, 25);
    ck_assert_str_eq(route_for(&list, "a.b.example.com", &rt), "longer.relay");
    ck_assert_str_eq(route_for(&list, "direct.example.com", &rt), "MX");
    /* ".example.com" does not match example.com itself */
    ck_assert_str_eq(route_for(&list, "example.com", &rt), "default.relay");
    ck_assert_str_eq(route_for(&list, "other.test", &rt), "default.relay");
    /* case does not matter */
    ck_assert_str_eq(route_for(&list, "MAIL.Example.com", &rt), "exact.relay");
    /* the matching line is broken: an error, naming it */
    ck_assert_int_eq(remote_route_find(&list, "broken.example.org", &rt,
                                       &what), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(dstr_cat0(&what), 0);
    ck_assert_str_eq(what.s, "broken.example.org:bad relay");

    /* no lines at all: MX on port 25 */
    list.len = 0;
    ck_assert_int_eq(remote_route_find(&list, "x.test", &rt, 0), 0);
    ck_assert_int_eq(rt.mx, 1);
    ck_assert_uint_eq(rt.port, 25);
    /* a broken line that does not match is ignored */
    static const char *const lines2[] = {"other.test:bad relay", 0};
    list_of(&list, lines2);
    ck_assert_int_eq(remote_route_find(&list, "x.test", &rt, 0), 0);
    remote_route_free(&rt);
    dstr_free(&list);
    dstr_free(&what);
}
END_TEST

/* ---- the DATA encoder ------------------------------------------------------ */

static size_t encode_whole(const char *in, size_t n, char *out,
                           remote_enc *e)
{
    size_t o;

    remote_enc_init(e);
    o = remote_enc_feed(e, in, n, out);
    o += remote_enc_finish(e, out + o);
    return o;
}

static void check_enc(const char *in, const char *want)
{
    char out[512];
    remote_enc e;
    size_t o = encode_whole(in, strlen(in), out, &e);

    out[o] = 0;
    ck_assert_msg(o == strlen(want) && memcmp(out, want, o) == 0,
                  "encoding \"%s\" gave \"%s\"", in, out);
    ck_assert_uint_eq(e.out, o);
}

START_TEST(enc_vectors)
{
    check_enc("", ".\r\n");
    check_enc("a\n", "a\r\n.\r\n");
    check_enc("a", "a\r\n.\r\n");
    check_enc(".\n", "..\r\n.\r\n");
    check_enc(".", "..\r\n.\r\n");
    check_enc("a\n.b\n..\nc.\n", "a\r\n..b\r\n...\r\nc.\r\n.\r\n");
    check_enc("\n\n", "\r\n\r\n.\r\n");
    /* CRLF in the queue is one line end; a bare CR ends a line too */
    check_enc("a\r\nb\n", "a\r\nb\r\n.\r\n");
    check_enc("a\rb\n", "a\r\nb\r\n.\r\n");
    check_enc("a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_enc("a\r", "a\r\n.\r\n");
    check_enc("a\r\r\n", "a\r\n\r\n.\r\n");
    check_enc("x\n.\n", "x\r\n..\r\n.\r\n");
}
END_TEST

START_TEST(enc_split_anywhere)
{
    static const char msg[] =
        ".start\nline\r\n.\r\n..x\rmid\r\r\n\xc3\xa9t\xc3\xa9\n.\nend.";
    size_t n = sizeof msg - 1, cut, cut2;
    char whole[512], parts[512];
    remote_enc e;
    size_t wlen = encode_whole(msg, n, whole, &e);
    unsigned long long size = remote_enc_size(&e);

    ck_assert_int_eq(e.eightbit, 1);
    for (cut = 0; cut <= n; cut++) {
        for (cut2 = cut; cut2 <= n; cut2++) {
            size_t o;
            remote_enc_init(&e);
            o = remote_enc_feed(&e, msg, cut, parts);
            o += remote_enc_feed(&e, msg + cut, cut2 - cut, parts + o);
            o += remote_enc_feed(&e, msg + cut2, n - cut2, parts + o);
            o += remote_enc_finish(&e, parts + o);
            ck_assert_uint_eq(o, wlen);
            ck_assert_int_eq(memcmp(parts, whole, o), 0);
            ck_assert_uint_eq(remote_enc_size(&e), size);
        }
    }
}
END_TEST

START_TEST(enc_size_and_room)
{
    char out[REMOTE_ENC_ROOM(8) + REMOTE_ENC_FINISH_MAX];
    remote_enc e;
    size_t o;

    /* RFC 1870: CRLFs count, added dots and the final "." line do not */
    o = encode_whole(".a\n.\n", 5, out, &e);
    ck_assert_uint_eq(o, strlen("..a\r\n..\r\n.\r\n"));
    ck_assert_uint_eq(remote_enc_size(&e), strlen(".a\r\n.\r\n"));
    ck_assert_int_eq(e.eightbit, 0);
    /* the worst case fits REMOTE_ENC_ROOM */
    remote_enc_init(&e);
    ck_assert_uint_le(remote_enc_feed(&e, "\r", 1, out), REMOTE_ENC_ROOM(1));
    ck_assert_uint_le(remote_enc_feed(&e, ".", 1, out), REMOTE_ENC_ROOM(1));
    ck_assert_uint_le(remote_enc_feed(&e, "\n\n\n\n\n\n\n\n", 8, out),
                      REMOTE_ENC_ROOM(8));
    remote_enc_init(&e);
    ck_assert_uint_le(remote_enc_feed(&e, "\r", 1, out), REMOTE_ENC_ROOM(1));
    ck_assert_uint_le(remote_enc_finish(&e, out), REMOTE_ENC_FINISH_MAX);
}
END_TEST

/* ---- MX records --------------------------------------------------------- */

START_TEST(mx_parse)
{
    static const unsigned char mx1[] = {0, 10, 3, 'M', 'x', '1', 4, 't',
                                        'e',  's', 't', 0};
    static const unsigned char null_mx[] = {0, 0, 0};
    static const unsigned char ptr[] = {0, 10, 0xc0, 12};
    static const unsigned char trunc[] = {0, 10, 3, 'm', 'x'};
    static const unsigned char extra[] = {0, 10, 1, 'a', 0, 0};
    static const unsigned char badch[] = {0, 10, 3, 'a', '.', 'b', 0};
    static const unsigned char space[] = {0, 10, 3, 'a', ' ', 'b', 0};
    remote_mx mx;

    ck_assert_int_eq(remote_mx_parse(mx1, sizeof mx1, &mx), 0);
    ck_assert_uint_eq(mx.pref, 10);
    ck_assert_str_eq(mx.name, "mx1.test");
    ck_assert_int_eq(remote_mx_parse(null_mx, sizeof null_mx, &mx), 0);
    ck_assert_uint_eq(mx.pref, 0);
    ck_assert_str_eq(mx.name, "");
    ck_assert_int_eq(remote_mx_parse(ptr, sizeof ptr, &mx), -1);
    ck_assert_int_eq(remote_mx_parse(trunc, sizeof trunc, &mx), -1);
    ck_assert_int_eq(remote_mx_parse(extra, sizeof extra, &mx), -1);
    ck_assert_int_eq(remote_mx_parse(badch, sizeof badch, &mx), -1);
    ck_assert_int_eq(remote_mx_parse(space, sizeof space, &mx), -1);
    ck_assert_int_eq(remote_mx_parse(null_mx, 2, &mx), -1);

    /* a name longer than 253 bytes */
    unsigned char longname[2 + 5 * 64 + 1];
    size_t i, o = 2;
    longname[0] = 0;
    longname[1] = 1;
    for (i = 0; i < 5; i++) {
        longname[o++] = 63;
        memset(longname + o, 'a', 63);
        o += 63;
    }
    longname[o++] = 0;
    ck_assert_int_eq(remote_mx_parse(longname, o, &mx), -1);
}
END_TEST

START_TEST(mx_null_detection)
{
    remote_mx mx[2];

    memset(mx, 0, sizeof mx);
    ck_assert_int_eq(remote_mx_null(mx, 1), 1);
    ck_assert_int_eq(remote_mx_null(mx, 0), 0);
    /* a root target next to a real host is not a null MX */
    memcpy(mx[1].name, "mx.test", 8);
    mx[1].pref = 10;
    ck_assert_int_eq(remote_mx_null(mx, 2), 0);
    ck_assert_int_eq(remote_mx_null(mx + 1, 1), 0);
}
END_TEST

static unsigned lcg_state;
static unsigned lcg(void *arg, unsigned bound)
{
    (void)arg;
    lcg_state = lcg_state * 1103515245u + 12345u;
    return (lcg_state >> 8) % bound;
}
static unsigned always_zero(void *arg, unsigned bound)
{
    (void)arg;
    (void)bound;
    return 0;
}

START_TEST(mx_sort_order)
{
    static const unsigned prefs[8] = {20, 10, 30, 10, 20, 10, 5, 30};
    remote_mx mx[8];
    int seen_first[8] = {0};
    unsigned round;
    size_t i, j;

    for (round = 0; round < 200; round++) {
        int count[8] = {0};
        for (i = 0; i < 8; i++) {
            mx[i].pref = prefs[i];
            mx[i].name[0] = (char)('a' + i);
            mx[i].name[1] = 0;
        }
        lcg_state = round * 7919u + 1;
        remote_mx_sort(mx, 8, round ? lcg : always_zero, 0);
        for (i = 1; i < 8; i++)
            ck_assert_uint_le(mx[i - 1].pref, mx[i].pref);
        /* every record is still there, once */
        for (i = 0; i < 8; i++)
            count[mx[i].name[0] - 'a']++;
        for (j = 0; j < 8; j++)
            ck_assert_int_eq(count[j], 1);
        ck_assert_str_eq(mx[0].name, "g"); /* preference 5 */
        seen_first[mx[1].name[0] - 'a'] = 1;
    }
    /* among the three preference-10 hosts, each came first sometimes */
    ck_assert(seen_first[1] && seen_first[3] && seen_first[5]);
}
END_TEST

START_TEST(names_valid)
{
    ck_assert_int_eq(remote_name_valid("mx1.example.com", 15), 1);
    ck_assert_int_eq(remote_name_valid("a_b-c.x", 7), 1);
    ck_assert_int_eq(remote_name_valid("", 0), 0);
    ck_assert_int_eq(remote_name_valid("a..b", 4), 0);
    ck_assert_int_eq(remote_name_valid(".a", 2), 0);
    ck_assert_int_eq(remote_name_valid("a.", 2), 0);
    ck_assert_int_eq(remote_name_valid("a b", 3), 0);
    ck_assert_int_eq(remote_name_valid("a\nb", 3), 0);
    char label[70];
    memset(label, 'x', sizeof label);
    ck_assert_int_eq(remote_name_valid(label, 63), 1);
    ck_assert_int_eq(remote_name_valid(label, 64), 0);
}
END_TEST

/* ---- paths and addresses ------------------------------------------------ */

static void check_path(const char *addr, const char *want)
{
    dstr d = DSTR_ZERO;
    ck_assert_int_eq(remote_path_cat(&d, addr), 0);
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_str_eq(d.s, want);
    dstr_free(&d);
}

START_TEST(paths)
{
    check_path("user@example.com", "<user@example.com>");
    check_path("", "<>");
    check_path("#@[]", "<#@[]>");
    check_path("first.last+tag@x.test", "<first.last+tag@x.test>");
    check_path("john doe@x.test", "<\"john doe\"@x.test>");
    check_path("a..b@x.test", "<\"a..b\"@x.test>");
    check_path(".a@x.test", "<\".a\"@x.test>");
    check_path("q\"u\\o@x.test", "<\"q\\\"u\\\\o\"@x.test>");
    check_path("a@b@x.test", "<\"a@b\"@x.test>");
    check_path("postmaster", "<postmaster>");
    check_path("j\xc3\xb6rg@x.test", "<j\xc3\xb6rg@x.test>");
    ck_assert_int_eq(remote_path_ok("a@b"), 1);
    ck_assert_int_eq(remote_path_ok(""), 1);
    ck_assert_int_eq(remote_path_ok("a\r\nRCPT TO:<x@y>"), 0);
    ck_assert_int_eq(remote_path_ok("a\nb"), 0);
    ck_assert_int_eq(remote_path_ok("a\x7f"), 0);
    /* the domain must be a name or a literal: nothing can end the path or
     * add ESMTP parameters */
    ck_assert_int_eq(remote_path_ok("s@me.test> RET=HDRS"), 0);
    ck_assert_int_eq(remote_path_ok("s@me test"), 0);
    ck_assert_int_eq(remote_path_ok("s@<x>"), 0);
    ck_assert_int_eq(remote_path_ok("s@"), 0);
    ck_assert_int_eq(remote_path_ok("s@[127.0.0.1]"), 1);
    ck_assert_int_eq(remote_path_ok("s@[IPv6:2001:db8::1]"), 1);
    ck_assert_int_eq(remote_path_ok("s@[1.2.3.4] SIZE=1"), 0);
    ck_assert_int_eq(remote_path_ok("\"a b\"@example.org"), 1);
    char big[1100];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert_int_eq(remote_path_ok(big), 0);
}
END_TEST

START_TEST(ip_literals)
{
    remote_ip ip;
    char buf[REMOTE_IP_FMT];

    ck_assert_int_eq(remote_ip_literal("[192.0.2.1]", 11, &ip), 0);
    ck_assert_int_eq(ip.family, AF_INET);
    remote_ip_fmt(&ip, buf);
    ck_assert_str_eq(buf, "192.0.2.1");
    ck_assert_int_eq(remote_ip_literal("[IPv6:2001:db8::1]", 18, &ip), 0);
    ck_assert_int_eq(ip.family, AF_INET6);
    remote_ip_fmt(&ip, buf);
    ck_assert_str_eq(buf, "2001:db8::1");
    ck_assert_int_eq(remote_ip_literal("[::1]", 5, &ip), 0);
    ck_assert_int_eq(ip.family, AF_INET6);
    ck_assert_int_eq(remote_ip_literal("[IPv6:192.0.2.1]", 16, &ip), -1);
    ck_assert_int_eq(remote_ip_literal("192.0.2.1", 9, &ip), -1);
    ck_assert_int_eq(remote_ip_literal("[192.0.2]", 9, &ip), -1);
    ck_assert_int_eq(remote_ip_literal("[]", 2, &ip), -1);
    ck_assert_int_eq(remote_ip_parse("1.2.3.4 ", 8, &ip), -1);
}
END_TEST

/* ---- output records ----------------------------------------------------- */

START_TEST(out_text_is_safe)
{
    dstr d = DSTR_ZERO;
    remote_reply r = {0, 0, 0, DSTR_ZERO};
    char big[3000];

    ck_assert_int_eq(remote_out_text(&d, "a\0b\r\nc\td\xff", 9), 0);
    ck_assert_int_eq(d.len, 9);
    ck_assert_int_eq(memcmp(d.s, "a?b??c d?", 9), 0);
    d.len = 0;
    feed(&r, "550-5.1.1 first");
    feed(&r, "550 5.1.1 second");
    ck_assert_int_eq(remote_out_reply(&d, &r), 0);
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_str_eq(d.s, "550-5.1.1 first / 550 5.1.1 second");
    d.len = 0;
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(remote_out_text(&d, big, sizeof big), 0);
    ck_assert_uint_eq(d.len, REMOTE_TEXT_MAX + 3);
    dstr_free(&d);
    remote_reply_free(&r);
}
END_TEST

START_TEST(out_records)
{
    remote_outcome o[3], msg;
    dstr out = DSTR_ZERO;
    static const char want[] = "rKok 1\0rDno\0rZlater\0Kok 1\0";

    memset(o, 0, sizeof o);
    memset(&msg, 0, sizeof msg);
    o[0].status = 'K';
    dstr_cats(&o[0].text, "ok 1");
    o[1].status = 'D';
    dstr_cats(&o[1].text, "no");
    o[2].status = 'Z';
    dstr_cats(&o[2].text, "later");
    ck_assert_int_eq(remote_out_summary(o, 3), 'K');
    ck_assert_int_eq(remote_out_summary(o + 1, 2), 'Z');
    ck_assert_int_eq(remote_out_summary(o + 1, 1), 'D');
    msg.status = 'K';
    dstr_cats(&msg.text, "ok 1");
    ck_assert_int_eq(remote_out_records(&out, o, 3, &msg), 0);
    ck_assert_uint_eq(out.len, sizeof want - 1);
    ck_assert_int_eq(memcmp(out.s, want, out.len), 0);
    /* an undecided recipient is reported as temporary, never as done */
    o[1].status = 0;
    out.len = 0;
    ck_assert_int_eq(remote_out_records(&out, o + 1, 1, &msg), 0);
    ck_assert_int_eq(out.s[0], 'r');
    ck_assert_int_eq(out.s[1], 'Z');
    ck_assert_int_eq(remote_out_summary(o + 1, 1), 'Z');
    dstr_free(&out);
    dstr_free(&msg.text);
    for (size_t i = 0; i < 3; i++)
        dstr_free(&o[i].text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("remote");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reply_single_and_multi);
    tcase_add_test(tc, reply_malformed);
    tcase_add_test(tc, reply_too_many_lines);
    tcase_add_test(tc, reply_read_lines);
    tcase_add_test(tc, reply_read_overlong);
    tcase_add_test(tc, ehlo_extensions);
    tcase_add_test(tc, route_parse_lines);
    tcase_add_test(tc, route_matching);
    tcase_add_test(tc, enc_vectors);
    tcase_add_test(tc, enc_split_anywhere);
    tcase_add_test(tc, enc_size_and_room);
    tcase_add_test(tc, mx_parse);
    tcase_add_test(tc, mx_null_detection);
    tcase_add_test(tc, mx_sort_order);
    tcase_add_test(tc, names_valid);
    tcase_add_test(tc, paths);
    tcase_add_test(tc, ip_literals);
    tcase_add_test(tc, out_text_is_safe);
    tcase_add_test(tc, out_records);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
