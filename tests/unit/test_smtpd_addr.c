// modules: src/smtpd
/* Unit tests: qmail-smtpd's path and ESMTP parameter parser (smtpd_addr). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_addr.h"

static int parse(const char *s, unsigned flags, smtpd_path *p, size_t *end)
{
    return smtpd_path_parse(s, strlen(s), flags, p, end);
}

START_TEST(good_paths)
{
    static const struct {
        const char *in;
        unsigned flags;
        const char *addr;
        size_t end;
    } t[] = {
        {"<a@b.test>", 0, "a@b.test", 10},
        {"<A.B-c+d@Sub.Example.COM>", 0, "A.B-c+d@Sub.Example.COM", 25},
        {"<>", SMTPD_PATH_SENDER, "", 2},
        {"<> SIZE=10", SMTPD_PATH_SENDER, "", 2},
        {"<postmaster>", SMTPD_PATH_RCPT, "postmaster", 12},
        {"<PostMaster>", SMTPD_PATH_RCPT, "postmaster", 12},
        {"<\"john doe\"@x.test>", 0, "john doe@x.test", 19},
        {"<\"a\\\"b\\\\c\"@x.test>", 0, "a\"b\\c@x.test", 18},
        {"<\"a@b\"@x.test>", 0, "a@b@x.test", 14},
        {"<@relay.test:u@x.test>", 0, "u@x.test", 22},
        {"<@r1.test,@r2.test:u@x.test>", 0, "u@x.test", 28},
        {"<u@[127.0.0.1]>", 0, "u@[127.0.0.1]", 15},
        {"<u@[IPv6:::1]>", 0, "u@[IPv6:::1]", 14},
        {"<u@[ipv6:2001:db8::1]>", 0, "u@[ipv6:2001:db8::1]", 22},
        {"<!#$%&'*+-/=?^_`{|}~@x.test>", 0, "!#$%&'*+-/=?^_`{|}~@x.test", 28},
        {"<a@x-y.test>", 0, "a@x-y.test", 12},
        {"<a@1.2.3.4>", 0, "a@1.2.3.4", 11},
        {"<a@b>", 0, "a@b", 5},
    };
    size_t i, end;
    smtpd_path p;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        int r = parse(t[i].in, t[i].flags, &p, &end);
        ck_assert_msg(r == SMTPD_PATH_OK, "%s: %d", t[i].in, r);
        ck_assert_str_eq(p.addr, t[i].addr);
        ck_assert_uint_eq(p.len, strlen(t[i].addr));
        ck_assert_uint_eq(end, t[i].end);
        if (p.len && strcmp(p.addr, "postmaster") != 0)
            ck_assert_int_eq(p.addr[p.at], '@');
        else
            ck_assert_uint_eq(p.at, p.len);
    }
    ck_assert_int_eq(parse("<u@[1.2.3.4]>", 0, &p, &end), 0);
    ck_assert_int_eq(p.literal, 1);
    ck_assert_int_eq(parse("<u@x.test>", 0, &p, &end), 0);
    ck_assert_int_eq(p.literal, 0);
    /* the at is the separator before the domain, not one in quotes */
    ck_assert_int_eq(parse("<\"a@b\"@x.test>", 0, &p, &end), 0);
    ck_assert_uint_eq(p.at, 3);
}
END_TEST

START_TEST(bad_paths)
{
    static const char *const bad[] = {
        "", "<", ">", "<>", "a@b.test", "<a@b.test", "a@b.test>",
        "<a@b.test >", "< a@b.test>", "<a @b.test>", "<a@ b.test>",
        "<@b.test>", "<a@>", "<a>", "<postmaster>", "<a@b..test>",
        "<a@.b.test>", "<a@b.test.>", "<a@-b.test>", "<a@b-.test>",
        "<a..b@x.test>", "<.a@x.test>", "<a.@x.test>", "<\"\"@x.test>",
        "<\"a@x.test>", "<\"a\x01\"@x.test>", "<\"a\\\x01\"@x.test>",
        "<a\x80@x.test>", "<a@x\x80.test>", "<a@x_y.test>",
        "<a@[1.2.3]>", "<a@[1.2.3.256]>", "<a@[1.2.3.4.5]>", "<a@[1.2.3.4>",
        "<a@[IPv6:1::2::3]>", "<a@[IPv6:]>", "<a@[tag:stuff]>", "<a@[]>",
        "<@x.test>", "<@x.test:>", "<@x.test,u@y.test>", "<@:u@y.test>",
        "<@x.test,:u@y.test>", "<a@b.test>>", "<a<b@x.test>", "<a@b@c.test>",
        "<a b@x.test>", "<a\"b@x.test>", "<a@b.test\r\n>",
        "<\"a\\", "<\"", "<a@", "<a@[", "<a@[IPv6:", "<@",
    };
    size_t i, end;
    smtpd_path p;

    /* a path is accepted when it parses and is the whole input (what
     * follows a path is left to smtpd_param_next) */
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(bad[i], 0, &p, &end) != SMTPD_PATH_OK ||
                          end != strlen(bad[i]),
                      "accepted: %s", bad[i]);
    /* <> only for senders, <postmaster> only for recipients */
    ck_assert_int_ne(parse("<>", SMTPD_PATH_RCPT, &p, &end), 0);
    ck_assert_int_ne(parse("<postmaster>", SMTPD_PATH_SENDER, &p, &end), 0);
    ck_assert_int_ne(parse("<@x.test:postmaster>", SMTPD_PATH_RCPT, &p, &end),
                     0);
}
END_TEST

START_TEST(lengths)
{
    char buf[1200], label[70];
    size_t end, n;
    smtpd_path p;

    /* 63-byte labels are fine, 64 are not */
    memset(label, 'a', 63);
    label[63] = 0;
    snprintf(buf, sizeof buf, "<u@%s.test>", label);
    ck_assert_int_eq(parse(buf, 0, &p, &end), 0);
    memset(label, 'a', 64);
    label[64] = 0;
    snprintf(buf, sizeof buf, "<u@%s.test>", label);
    ck_assert_int_ne(parse(buf, 0, &p, &end), 0);

    /* a mailbox of 254 bytes is kept, 255 is too long */
    n = 254 - strlen("@x.test");
    buf[0] = '<';
    memset(buf + 1, 'a', n);
    snprintf(buf + 1 + n, sizeof buf - 1 - n, "@x.test>");
    ck_assert_int_eq(parse(buf, 0, &p, &end), 0);
    ck_assert_uint_eq(p.len, 254);
    memset(buf + 1, 'a', n + 1);
    snprintf(buf + 2 + n, sizeof buf - 2 - n, "@x.test>");
    ck_assert_int_eq(parse(buf, 0, &p, &end), SMTPD_PATH_TOOLONG);
    /* quoted: the same limit after unquoting */
    buf[0] = '<';
    buf[1] = '"';
    memset(buf + 2, 'b', 600);
    snprintf(buf + 602, sizeof buf - 602, "\"@x.test>");
    ck_assert_int_eq(parse(buf, 0, &p, &end), SMTPD_PATH_TOOLONG);
    /* a domain over 255 bytes */
    n = snprintf(buf, sizeof buf, "<u@");
    while (n < 300) {
        memcpy(buf + n, "abcdefgh.", 9);
        n += 9;
    }
    snprintf(buf + n, sizeof buf - n, "test>");
    ck_assert_int_ne(parse(buf, 0, &p, &end), 0);
    /* the parser never reads past len: a path cut short is refused */
    ck_assert_int_ne(smtpd_path_parse("<a@b.test>", 9, 0, &p, &end), 0);
    ck_assert_int_ne(smtpd_path_parse("<\"a\"@b>", 3, 0, &p, &end), 0);
    ck_assert_int_ne(smtpd_path_parse("<postmaster>", 11, SMTPD_PATH_RCPT, &p,
                                      &end), 0);
}
END_TEST

START_TEST(domains_and_literals)
{
    ck_assert_uint_eq(smtpd_domain_scan("x.test>", 7), 6);
    ck_assert_uint_eq(smtpd_domain_scan("x.test.", 7), 6);
    ck_assert_uint_eq(smtpd_domain_scan("-x", 2), 0);
    ck_assert_uint_eq(smtpd_domain_scan("", 0), 0);
    ck_assert_uint_eq(smtpd_domain_scan("a-", 2), 0);
    ck_assert_uint_eq(smtpd_domain_scan("a-b", 3), 3);
    ck_assert_uint_eq(smtpd_literal_scan("[1.2.3.4]x", 10), 9);
    ck_assert_uint_eq(smtpd_literal_scan("[255.255.255.255]", 17), 17);
    ck_assert_uint_eq(smtpd_literal_scan("[1234.2.3.4]", 12), 0);
    ck_assert_uint_eq(smtpd_literal_scan("[01.2.3.4]", 10), 10);
    ck_assert_uint_eq(smtpd_literal_scan("[IPv6:::ffff:1.2.3.4]", 21), 21);
    ck_assert_uint_eq(smtpd_literal_scan("[IPv6:g::1]", 11), 0);
    ck_assert_uint_eq(smtpd_literal_scan("[1.2.3.4", 8), 0);
}
END_TEST

static int params(const char *s, smtpd_param *out, int max)
{
    size_t pos = 0;
    int n = 0, r;

    while ((r = smtpd_param_next(s, strlen(s), &pos, &out[n < max ? n : 0])) ==
           1)
        n++;
    return r == -1 ? -1 : n;
}

START_TEST(esmtp_params)
{
    smtpd_param pp[8];

    ck_assert_int_eq(params("", pp, 8), 0);
    ck_assert_int_eq(params("   ", pp, 8), 0);
    ck_assert_int_eq(params(" SIZE=100", pp, 8), 1);
    ck_assert(smtpd_param_is(&pp[0], "size"));
    ck_assert_uint_eq(pp[0].valuelen, 3);
    ck_assert_int_eq(memcmp(pp[0].value, "100", 3), 0);
    ck_assert_int_eq(params(" SIZE=100  BODY=8BITMIME ", pp, 8), 2);
    ck_assert(smtpd_param_is(&pp[1], "BODY"));
    ck_assert_int_eq(params(" X-FLAG", pp, 8), 1);
    ck_assert_ptr_null(pp[0].value);
    ck_assert(!smtpd_param_is(&pp[0], "X-FLA"));
    ck_assert_int_eq(params("SIZE=1", pp, 8), -1); /* no space after '>' */
    ck_assert_int_eq(params(" SIZE=", pp, 8), -1);
    ck_assert_int_eq(params(" SIZE==1", pp, 8), -1);
    ck_assert_int_eq(params(" SIZE=1=2", pp, 8), -1);
    ck_assert_int_eq(params(" -X=1", pp, 8), -1);
    ck_assert_int_eq(params(" =1", pp, 8), -1);
    ck_assert_int_eq(params(" A_B=1", pp, 8), -1);
    ck_assert_int_eq(params(" A=\x80", pp, 8), -1);
    ck_assert_int_eq(params(" A=\t", pp, 8), -1);
}
END_TEST

/* Random bytes never crash the parser or produce an address with a
 * control character in it. */
START_TEST(random_inputs)
{
    char buf[600];
    size_t i, n, end, k;
    smtpd_path p;
    unsigned seed = 12345;
    static const char alphabet[] = "<>@.:,\"\\[]aZ09-_ \x01\x7f\x80IPv6";

    for (i = 0; i < 200000; i++) {
        n = (size_t)(rand_r(&seed) % 80);
        for (k = 0; k < n; k++)
            buf[k] = rand_r(&seed) % 4 ? alphabet[rand_r(&seed) %
                                                   (sizeof alphabet - 1)]
                                       : (char)rand_r(&seed);
        if (n && rand_r(&seed) % 2)
            buf[0] = '<';
        if (smtpd_path_parse(buf, n, SMTPD_PATH_SENDER | SMTPD_PATH_RCPT, &p,
                             &end) == SMTPD_PATH_OK) {
            ck_assert_uint_le(end, n);
            ck_assert_uint_le(p.len, SMTPD_MAILBOX_MAX);
            ck_assert_uint_eq(strlen(p.addr), p.len);
            for (k = 0; k < p.len; k++)
                ck_assert((unsigned char)p.addr[k] >= 32 &&
                          (unsigned char)p.addr[k] <= 126);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtpd_addr");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, good_paths);
    tcase_add_test(tc, bad_paths);
    tcase_add_test(tc, lengths);
    tcase_add_test(tc, domains_and_literals);
    tcase_add_test(tc, esmtp_params);
    tcase_add_test(tc, random_inputs);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
