/* Unit tests: netstrings (src/lib/netstr.c): the push decoder, the
 * in-memory parser, the bio readers and the encoder. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "netstr.h"

static int parse(const char *s, unsigned long long max, const char **d,
                 size_t *dl, size_t *used)
{
    return netstr_parse(s, strlen(s), max, d, dl, used);
}

START_TEST(parse_good)
{
    const char *d;
    size_t dl, used;

    ck_assert_int_eq(parse("12:hello world!,", 100, &d, &dl, &used), 1);
    ck_assert_uint_eq(dl, 12);
    ck_assert(memcmp(d, "hello world!", 12) == 0);
    ck_assert_uint_eq(used, 16);
    ck_assert_int_eq(parse("0:,rest", 100, &d, &dl, &used), 1);
    ck_assert_uint_eq(dl, 0);
    ck_assert_uint_eq(used, 3);
    /* nested: the payload is itself netstrings */
    ck_assert_int_eq(parse("17:5:hello,6:world!,,", 100, &d, &dl, &used), 1);
    ck_assert_uint_eq(dl, 17);
    ck_assert_int_eq(netstr_parse(d, dl, 100, &d, &dl, &used), 1);
    ck_assert(memcmp(d, "hello", 5) == 0);
    /* binary payload, with ':' and ',' inside */
    ck_assert_int_eq(netstr_parse("3:\0,:,", 6, 100, &d, &dl, &used), 1);
    ck_assert_uint_eq(dl, 3);
    ck_assert(d[0] == 0 && d[1] == ',' && d[2] == ':');
}
END_TEST

START_TEST(parse_incomplete)
{
    const char *d;
    size_t dl, used;
    const char *prefixes[] = {"", "1", "12", "12:", "12:hello", "12:hello world!"};
    size_t i;

    for (i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        ck_assert_int_eq(parse(prefixes[i], 100, &d, &dl, &used), 0);
}
END_TEST

START_TEST(parse_bad)
{
    static const struct {
        const char *in;
        int err;
    } cases[] = {
        {"x:abc,", EPROTO},     {" 3:abc,", EPROTO}, {"03:abc,", EPROTO},
        {"00:,", EPROTO},       {":abc,", EPROTO},   {"3abc,", EPROTO},
        {"3:abc;", EPROTO},     {"3:abcd,", EPROTO}, {"-3:abc,", EPROTO},
        {"+3:abc,", EPROTO},    {"3 :abc,", EPROTO}, {"\r\n3:abc,", EPROTO},
        {"101:", EMSGSIZE},     {"1000000000000000000000:", EMSGSIZE},
    };
    const char *d;
    size_t dl, used, i;

    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        errno = 0;
        ck_assert_msg(parse(cases[i].in, 100, &d, &dl, &used) == -1, "%s",
                      cases[i].in);
        ck_assert_int_eq(errno, cases[i].err);
    }
    /* the size limit applies as digits arrive: no payload needed */
    ck_assert_int_eq(parse("99999999999999999999999999", 1ULL << 62, &d, &dl,
                           &used), -1);
    ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

START_TEST(decoder_streams_in_pieces)
{
    const char *in = "11:hello world,5:";
    netstr_dec dec;
    const char *p;
    size_t n, i, used;
    char out[32];
    size_t outlen = 0;

    /* one byte at a time */
    netstr_dec_init(&dec, 100);
    ck_assert(netstr_dec_fresh(&dec));
    for (i = 0; dec.state != NETSTR_DONE; i += used) {
        used = netstr_dec_feed(&dec, in + i, 1, &p, &n);
        ck_assert_uint_eq(used, 1);
        memcpy(out + outlen, p, n);
        outlen += n;
    }
    ck_assert_uint_eq(i, 15);
    ck_assert_uint_eq(outlen, 11);
    ck_assert(memcmp(out, "hello world", 11) == 0);
    /* it stops at the end: the next netstring's bytes are not taken */
    ck_assert_uint_eq(netstr_dec_feed(&dec, in + i, 3, &p, &n), 0);
    /* whole: the payload comes as one piece pointing into the input */
    netstr_dec_init(&dec, 100);
    used = netstr_dec_feed(&dec, in, strlen(in), &p, &n);
    ck_assert_uint_eq(used, 14);
    ck_assert(p == in + 3 && n == 11);
    used += netstr_dec_feed(&dec, in + used, strlen(in) - used, &p, &n);
    ck_assert_int_eq(dec.state, NETSTR_DONE);
    ck_assert_uint_eq(used, 15);
    /* an error stops before the offending byte */
    netstr_dec_init(&dec, 100);
    used = netstr_dec_feed(&dec, "12x", 3, &p, &n);
    ck_assert_uint_eq(used, 2);
    ck_assert_int_eq(dec.state, NETSTR_ERROR);
    ck_assert_int_eq(dec.err, EPROTO);
}
END_TEST

START_TEST(encoder)
{
    dstr d = DSTR_ZERO;

    ck_assert_int_eq(netstr_cats(&d, "hello world!"), 0);
    ck_assert_int_eq(netstr_cat(&d, "", 0), 0);
    ck_assert_int_eq(netstr_cat_len(&d, 1234567), 0);
    ck_assert_int_eq(dstr_cat0(&d), 0);
    ck_assert_str_eq(d.s, "12:hello world!,0:,1234567:");
    dstr_free(&d);
}
END_TEST

/* A bio reading from a pipe filled with s, then closed. */
static void pipe_bio(bio *b, char *buf, size_t cap, const char *s, size_t n)
{
    int fds[2];

    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], s, n), (long)n);
    close(fds[1]);
    bio_init(b, fds[0], buf, cap, 5);
}

START_TEST(bio_reading)
{
    static const char in[] = "5:hello,0:,3:abc,2:x";
    char buf[4]; /* tiny: netstrings cross buffer refills */
    bio b;
    dstr d = DSTR_ZERO;
    unsigned long long len;

    pipe_bio(&b, buf, sizeof buf, in, sizeof in - 1);
    ck_assert_int_eq(netstr_read(&b, &d, 10), 1);
    ck_assert_uint_eq(d.len, 5);
    ck_assert(memcmp(d.s, "hello", 5) == 0);
    ck_assert_int_eq(netstr_read(&b, &d, 10), 1);
    ck_assert_uint_eq(d.len, 0);
    ck_assert_int_eq(netstr_read_len(&b, 10, &len), 1);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(netstr_skip(&b, 3), 0);
    ck_assert_int_eq(netstr_read_end(&b), 0);
    /* truncated: end of file inside a netstring */
    ck_assert_int_eq(netstr_read(&b, &d, 10), -1);
    ck_assert_int_eq(errno, ENODATA);
    close(b.fd);

    pipe_bio(&b, buf, sizeof buf, "", 0);
    ck_assert_int_eq(netstr_read(&b, &d, 10), 0); /* clean end */
    close(b.fd);
    pipe_bio(&b, buf, sizeof buf, "12", 2);
    ck_assert_int_eq(netstr_read(&b, &d, 10), -1); /* over max */
    ck_assert_int_eq(errno, EMSGSIZE);
    close(b.fd);
    pipe_bio(&b, buf, sizeof buf, "3:abc;", 6);
    ck_assert_int_eq(netstr_read(&b, &d, 10), -1);
    ck_assert_int_eq(errno, EPROTO);
    close(b.fd);
    pipe_bio(&b, buf, sizeof buf, "1", 1);
    ck_assert_int_eq(netstr_read(&b, &d, 10), -1);
    ck_assert_int_eq(errno, ENODATA);
    close(b.fd);
    dstr_free(&d);
}
END_TEST

START_TEST(roundtrip)
{
    dstr enc = DSTR_ZERO;
    char payload[300];
    const char *d;
    size_t dl, used, i;

    for (i = 0; i < sizeof payload; i++)
        payload[i] = (char)(i * 7);
    for (i = 0; i <= sizeof payload; i += 37) {
        enc.len = 0;
        ck_assert_int_eq(netstr_cat(&enc, payload, i), 0);
        ck_assert_int_eq(netstr_parse(enc.s, enc.len, 1000, &d, &dl, &used),
                         1);
        ck_assert_uint_eq(dl, i);
        ck_assert_uint_eq(used, enc.len);
        ck_assert(memcmp(d, payload, i) == 0);
    }
    dstr_free(&enc);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define NETSTR_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETSTR_TEST_ASAN 1
#endif
#endif

/* A peer's claimed length costs memory only as its bytes arrive: a header
 * saying 1.9 GB followed by a few bytes and the end of the stream is a
 * truncated netstring (ENODATA), not an allocation of 1.9 GB (ENOMEM
 * under an address-space limit). */
START_TEST(read_allocates_as_data_arrives)
{
#ifndef NETSTR_TEST_ASAN
    static const char in[] = "1900000000:abc";
    char buf[64];
    struct rlimit rl = {256UL << 20, 256UL << 20};
    bio b;
    dstr d = DSTR_ZERO;

    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
    pipe_bio(&b, buf, sizeof buf, in, sizeof in - 1);
    ck_assert_int_eq(netstr_read(&b, &d, 2000000000), -1);
    ck_assert_int_eq(errno, ENODATA);
    close(b.fd);
    dstr_free(&d);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("netstr");
    TCase *tc = tcase_create("netstr");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, parse_good);
    tcase_add_test(tc, parse_incomplete);
    tcase_add_test(tc, parse_bad);
    tcase_add_test(tc, decoder_streams_in_pieces);
    tcase_add_test(tc, encoder);
    tcase_add_test(tc, bio_reading);
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, read_allocates_as_data_arrives);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
