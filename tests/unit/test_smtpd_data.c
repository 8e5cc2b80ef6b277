// modules: src/smtpd
/* Unit tests: the DATA decoder of qmail-smtpd (smtpd_data): dot-stuffing,
 * CRLF to LF, the end of data and nothing else, bare CR/LF, NUL, long
 * lines and size, with the input cut at every possible place. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_data.h"

typedef struct result {
    char out[8192];
    size_t outlen;
    size_t consumed;
    unsigned flags;
    int done;
} result;

/* Feed in as chunks of the given sizes (cycled; 0 = all at once). */
static void run(const char *in, size_t n, size_t chunk,
                unsigned long long maxsize, result *r)
{
    smtpd_data d;
    char out[8192 + 1];
    size_t pos = 0;

    memset(r, 0, sizeof *r);
    smtpd_data_init(&d, maxsize);
    while (pos < n && !d.done) {
        size_t take = chunk && chunk < n - pos ? chunk : n - pos;
        size_t o, used = smtpd_data_feed(&d, in + pos, take, out, &o);
        ck_assert_uint_le(used, take);
        ck_assert_uint_le(o, used + 1);
        ck_assert_uint_le(r->outlen + o, sizeof r->out);
        memcpy(r->out + r->outlen, out, o);
        r->outlen += o;
        pos += used;
        if (used < take)
            ck_assert(d.done);
    }
    r->consumed = pos;
    r->flags = d.flags;
    r->done = d.done;
}

/* Run whole, byte by byte, and split at every point: all must agree. */
static void decode(const char *in, size_t n, unsigned long long maxsize,
                   result *r)
{
    result other;
    size_t cut;

    run(in, n, 0, maxsize, r);
    run(in, n, 1, maxsize, &other);
    ck_assert_uint_eq(other.outlen, r->outlen);
    ck_assert_int_eq(memcmp(other.out, r->out, r->outlen), 0);
    ck_assert_uint_eq(other.consumed, r->consumed);
    ck_assert_uint_eq(other.flags, r->flags);
    ck_assert_int_eq(other.done, r->done);
    for (cut = 1; cut < n && n < 3000; cut++) {
        smtpd_data d;
        char out[8192 + 1];
        size_t o1, o2, u1, u2 = 0;

        smtpd_data_init(&d, maxsize);
        u1 = smtpd_data_feed(&d, in, cut, out, &o1);
        if (!d.done)
            u2 = smtpd_data_feed(&d, in + cut, n - cut, out + o1, &o2);
        else
            o2 = 0;
        ck_assert_uint_eq(o1 + o2, r->outlen);
        ck_assert_int_eq(memcmp(out, r->out, r->outlen), 0);
        ck_assert_uint_eq(u1 + u2, r->consumed);
        ck_assert_uint_eq(d.flags, r->flags);
    }
}

#define ALL ((size_t)-1)

static void expect(const char *in, const char *out, size_t consumed,
                   unsigned flags, int done)
{
    result r;

    decode(in, strlen(in), 0, &r);
    ck_assert_msg(r.outlen == strlen(out) && memcmp(r.out, out, r.outlen) == 0,
                  "in %s: out %.*s", in, (int)r.outlen, r.out);
    if (consumed == ALL)
        consumed = strlen(in);
    ck_assert_msg(r.consumed == consumed, "in %s: consumed %zu", in,
                  r.consumed);
    ck_assert_msg(r.flags == flags, "in %s: flags %u", in, r.flags);
    ck_assert_int_eq(r.done, done);
}

START_TEST(plain_messages)
{
    expect(".\r\n", "", 3, 0, 1);
    expect("a\r\n.\r\n", "a\n", 6, 0, 1);
    expect("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
           "Subject: x\n\nbody\n", 23, 0, 1);
    /* dot-stuffing undone: any leading dot goes */
    expect("..\r\n...x\r\n.y\r\n.\r\n", ".\n..x\ny\n", 17, 0, 1);
    /* a dot not at the start of a line stays */
    expect("a.\r\n a\r\n.\r\n", "a.\n a\n", 11, 0, 1);
    /* no end yet */
    expect("a\r\nb\r\n", "a\nb\n", 6, 0, 0);
    expect("a\r\n.", "a\n", 4, 0, 0);
    expect("a\r\n.\r", "a\n", 5, 0, 0);
    /* 8-bit is fine */
    expect("\xc3\xa9\xff\r\n.\r\n", "\xc3\xa9\xff\n", 8, 0, 1);
}
END_TEST

START_TEST(smuggling_never_ends_data)
{
    /* <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, <CR><LF>.<LF>: not the end */
    expect("a\n.\nMAIL FROM:<x@y>\r\n", "a\n.\nMAIL FROM:<x@y>\n", ALL,
           SMTPD_DATA_BARELF, 0);
    expect("a\r.\rMAIL FROM:<x@y>\r\n", "a\r.\rMAIL FROM:<x@y>\n", ALL,
           SMTPD_DATA_BARECR, 0);
    expect("a\n.\r\nMAIL FROM:<x@y>\r\n", "a\n.\nMAIL FROM:<x@y>\n", ALL,
           SMTPD_DATA_BARELF, 0);
    expect("a\r\n.\nMAIL FROM:<x@y>\r\n", "a\n\nMAIL FROM:<x@y>\n", ALL,
           SMTPD_DATA_BARELF, 0);
    expect("a\r\n.\r.\r\n", "a\n\r.\n", ALL, SMTPD_DATA_BARECR, 0);
    /* the real end after a smuggling attempt: flagged, and the end */
    expect("a\n.\nMAIL FROM:<x@y>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n",
           "a\n.\nMAIL FROM:<x@y>\nDATA\nevil\n", 36, SMTPD_DATA_BARELF, 1);
    /* a bare LF before "." : that "." line is not a line start */
    expect("a\r\nb\n.\r\nc\r\n.\r\n", "a\nb\n.\nc\n", 14, SMTPD_DATA_BARELF,
           1);
    /* the very first line after DATA is a line start */
    expect(".\r\nMAIL FROM:<x@y>\r\n", "", 3, 0, 1);
}
END_TEST

START_TEST(flaws)
{
    result r;
    char big[3000];
    size_t i;

    decode("a\0b\r\n.\r\n", 8, 0, &r);
    ck_assert_uint_eq(r.flags, SMTPD_DATA_NUL);
    ck_assert_int_eq(r.done, 1);
    ck_assert_uint_eq(r.outlen, 4);
    expect("a\rb\r\n.\r\n", "a\rb\n", 8, SMTPD_DATA_BARECR, 1);
    expect("a\r\r\n.\r\n", "a\r\n", 7, SMTPD_DATA_BARECR, 1);
    expect("a\n\r\n.\r\n", "a\n\n", 7, SMTPD_DATA_BARELF, 1);

    /* 998 bytes + CRLF = 1000: fine; 999 + CRLF: too long */
    memset(big, 'x', sizeof big);
    memcpy(big + 998, "\r\n.\r\n", 5);
    decode(big, 1003, 0, &r);
    ck_assert_uint_eq(r.flags, 0);
    ck_assert_uint_eq(r.outlen, 999);
    memset(big, 'x', sizeof big);
    memcpy(big + 999, "\r\n.\r\n", 5);
    decode(big, 1004, 0, &r);
    ck_assert_uint_eq(r.flags, SMTPD_DATA_LONGLINE);
    ck_assert_int_eq(r.done, 1);
    /* the count restarts at each line */
    memset(big, 'x', sizeof big);
    for (i = 0; i + 500 < sizeof big; i += 500)
        memcpy(big + i + 498, "\r\n", 2);
    memcpy(big + 2500, ".\r\n", 3);
    decode(big, 2503, 0, &r);
    ck_assert_uint_eq(r.flags, 0);
    /* a dot-stuffed line of 1000 bytes with CRLF is fine */
    memset(big, 'x', sizeof big);
    big[0] = '.';
    memcpy(big + 998, "\r\n.\r\n", 5);
    decode(big, 1003, 0, &r);
    ck_assert_uint_eq(r.flags, 0);
    ck_assert_uint_eq(r.outlen, 998);
}
END_TEST

START_TEST(size_limit)
{
    result r;

    decode("abcd\r\n.\r\n", 9, 5, &r); /* "abcd\n" = 5 bytes */
    ck_assert_uint_eq(r.flags, 0);
    decode("abcde\r\n.\r\n", 10, 5, &r);
    ck_assert_uint_eq(r.flags, SMTPD_DATA_TOOBIG);
    ck_assert_int_eq(r.done, 1);
    decode("abcde\r\n.\r\n", 10, 0, &r);
    ck_assert_uint_eq(r.flags, 0);
}
END_TEST

START_TEST(after_done)
{
    smtpd_data d;
    char out[16];
    size_t o;

    smtpd_data_init(&d, 0);
    ck_assert_uint_eq(smtpd_data_feed(&d, ".\r\nMAIL", 7, out, &o), 3);
    ck_assert(d.done);
    ck_assert_uint_eq(smtpd_data_feed(&d, "MAIL", 4, out, &o), 0);
    ck_assert_uint_eq(o, 0);
}
END_TEST

/* Random inputs: whatever the cuts, the result is the same, the output
 * never holds the end sequence's dot line, and a done decoder stopped
 * right after a CRLF.CRLF. */
START_TEST(random_inputs)
{
    static const char alphabet[] = "\r\n.\r\n.a\0";
    char in[200];
    unsigned seed = 99;
    size_t i, k, n;
    result r;

    for (i = 0; i < 2000; i++) {
        n = (size_t)(rand_r(&seed) % sizeof in);
        for (k = 0; k < n; k++)
            in[k] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        decode(in, n, 0, &r);
        if (r.done) {
            ck_assert_uint_ge(r.consumed, 3);
            ck_assert_int_eq(memcmp(in + r.consumed - 3, ".\r\n", 3), 0);
            ck_assert(r.consumed == 3 ||
                      (r.consumed >= 5 &&
                       memcmp(in + r.consumed - 5, "\r\n", 2) == 0));
        }
        if (r.flags == 0)
            for (k = 0; k < r.outlen; k++)
                ck_assert(r.out[k] != '\r');
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtpd_data");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plain_messages);
    tcase_add_test(tc, smuggling_never_ends_data);
    tcase_add_test(tc, flaws);
    tcase_add_test(tc, size_limit);
    tcase_add_test(tc, after_done);
    tcase_add_test(tc, random_inputs);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
