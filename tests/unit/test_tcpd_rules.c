// modules: src/tcpd
/* Unit tests: qmail-tcpd's access rules (parsing, keys, compiling,
 * matching), client addresses, the child's environment and the session
 * table. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env.h"
#include "file.h"
#include "tcpd.h"
#include "tcpd_addr.h"
#include "tcpd_rules.h"
#include "tcpd_table.h"
#include "unit_tmpdir.h"

static tcpd_rule rule;
static dstr err = DSTR_ZERO;

static int parse(const char *line)
{
    return tcpd_rule_parse(line, strlen(line), &rule, &err);
}

/* Key of prefix i of the last parsed rule, as a C string (static). */
static const char *key(size_t i)
{
    static dstr k = DSTR_ZERO;
    ck_assert_uint_lt(i, rule.nprefix);
    ck_assert_int_eq(tcpd_prefix_key(&rule.prefix[i], &k), 0);
    ck_assert_int_eq(dstr_cat0(&k), 0);
    return k.s;
}

/* The rule's variables as "A=1;B=2;" */
static const char *vars(void)
{
    static char out[1024];
    size_t i = 0, o = 0;
    while (i < rule.vars.len) {
        const char *e = rule.vars.s + i;
        size_t n = strlen(e);
        ck_assert_uint_lt(o + n + 2, sizeof out);
        memcpy(out + o, e, n);
        o += n;
        out[o++] = ';';
        i += n + 1;
    }
    out[o] = 0;
    return out;
}

static void bad(const char *line, const char *why)
{
    ck_assert_msg(parse(line) == -1, "accepted: %s", line);
    ck_assert_msg(err.len && strstr(err.s, why), "%s: reason '%s', wanted '%s'",
                  line, err.len ? err.s : "", why);
}

START_TEST(blank_and_comments)
{
    ck_assert_int_eq(parse(""), 0);
    ck_assert_int_eq(parse("\n"), 0);
    ck_assert_int_eq(parse("   \t\r\n"), 0);
    ck_assert_int_eq(parse("# 127.:deny"), 0);
    ck_assert_int_eq(parse("  # indented comment"), 0);
}
END_TEST

START_TEST(ipv4_forms)
{
    ck_assert_int_eq(parse("1.2.3.4:allow\n"), 1);
    ck_assert_int_eq(rule.allow, 1);
    ck_assert_uint_eq(rule.nprefix, 1);
    ck_assert_str_eq(key(0), "1.2.3.4/32");

    ck_assert_int_eq(parse("127.:deny"), 1);
    ck_assert_int_eq(rule.allow, 0);
    ck_assert_str_eq(key(0), "127.0.0.0/8");
    ck_assert_int_eq(parse("10.1.:allow"), 1);
    ck_assert_str_eq(key(0), "10.1.0.0/16");
    ck_assert_int_eq(parse("192.168.0.:allow"), 1);
    ck_assert_str_eq(key(0), "192.168.0.0/24");

    ck_assert_int_eq(parse("1.2.3.4-7:allow"), 1);
    ck_assert_uint_eq(rule.nprefix, 4);
    ck_assert_str_eq(key(0), "1.2.3.4/32");
    ck_assert_str_eq(key(3), "1.2.3.7/32");
    ck_assert_int_eq(parse("10.2-3.:allow"), 1);
    ck_assert_uint_eq(rule.nprefix, 2);
    ck_assert_str_eq(key(0), "10.2.0.0/16");
    ck_assert_str_eq(key(1), "10.3.0.0/16");
    ck_assert_int_eq(parse("1.2.3.0-255:allow"), 1);
    ck_assert_uint_eq(rule.nprefix, 256);
    ck_assert_str_eq(key(255), "1.2.3.255/32");

    ck_assert_int_eq(parse("10.0.0.0/8:allow"), 1);
    ck_assert_str_eq(key(0), "10.0.0.0/8");
    ck_assert_int_eq(parse("0.0.0.0/0:deny"), 1);
    ck_assert_str_eq(key(0), "0.0.0.0/0");
    ck_assert_int_eq(parse("172.16.0.0/12:allow"), 1);
    ck_assert_str_eq(key(0), "172.16.0.0/12");
    ck_assert_int_eq(parse("  8.8.8.8:allow  \r\n"), 1);
    ck_assert_str_eq(key(0), "8.8.8.8/32");
}
END_TEST

START_TEST(ipv6_forms_and_normalisation)
{
    ck_assert_int_eq(parse("::1:allow"), 1);
    ck_assert_str_eq(key(0), "::1/128");
    ck_assert_int_eq(parse("2001:DB8:0:0:0:0:0:1:deny"), 1);
    ck_assert_str_eq(key(0), "2001:db8::1/128");
    ck_assert_int_eq(parse("2001:db8::/32:allow"), 1);
    ck_assert_str_eq(key(0), "2001:db8::/32");
    ck_assert_int_eq(parse("2001:0db8:00AB::/48:allow"), 1);
    ck_assert_str_eq(key(0), "2001:db8:ab::/48");
    /* groups prefix: "2001:db8:" then ":allow" */
    ck_assert_int_eq(parse("2001:db8::allow"), 1);
    ck_assert_str_eq(key(0), "2001:db8::/32");
    /* "fe80" alone is no address: the prefix is written "fe80:" */
    ck_assert_int_eq(parse("fe80:allow"), -1);
    ck_assert_int_eq(parse("fe80::allow"), 1);
    ck_assert_str_eq(key(0), "fe80::/16");
    ck_assert_int_eq(parse("2001:db8:1:2:3:4:5::deny"), 1);
    ck_assert_str_eq(key(0), "2001:db8:1:2:3:4:5:0/112"); /* RFC 5952 */
    /* "2001:db8::" followed by ":allow" is the address, not a prefix */
    ck_assert_int_eq(parse("2001:db8:::allow"), 1);
    ck_assert_str_eq(key(0), "2001:db8::/128");
    ck_assert_int_eq(parse("::/0:deny"), 1);
    ck_assert_str_eq(key(0), "::/0");
    /* IPv4-mapped forms become IPv4 rules */
    ck_assert_int_eq(parse("::ffff:127.0.0.1:allow"), 1);
    ck_assert_str_eq(key(0), "127.0.0.1/32");
    ck_assert_int_eq(parse("::ffff:10.0.0.0/104:allow"), 1);
    ck_assert_str_eq(key(0), "10.0.0.0/8");
    ck_assert_int_eq(parse("::ffff:0:0/96:deny"), 1);
    ck_assert_str_eq(key(0), "0.0.0.0/0");
}
END_TEST

START_TEST(any_and_instructions)
{
    ck_assert_int_eq(parse(":allow"), 1);
    ck_assert_uint_eq(rule.nprefix, 1);
    ck_assert_int_eq(rule.prefix[0].addr.family, 0);
    ck_assert_str_eq(key(0), "");
    ck_assert_int_eq(parse(":deny"), 1);
    ck_assert_int_eq(rule.allow, 0);

    ck_assert_int_eq(parse("127.:allow,RELAYCLIENT=\"\""), 1);
    ck_assert_str_eq(vars(), "RELAYCLIENT=;");
    ck_assert_int_eq(parse("127.:allow,A=\"x,y:z\",B=/@fix.me/,C=plain,"
                           "D=,E=12 34,F='q',G=\"\""), 1);
    ck_assert_str_eq(vars(),
                     "A=x,y:z;B=@fix.me;C=plain;D=;E=12 34;F=q;G=;");
    ck_assert_uint_eq(rule.nvars, 7);
    ck_assert_int_eq(parse("::1:allow,X=\"a\",TCPLOCALHOST=\"mx\""), 1);
    ck_assert_str_eq(vars(), "X=a;TCPLOCALHOST=mx;");
    /* values may hold ":allow" and colons without confusing the split */
    ck_assert_int_eq(parse("1.2.3.4:deny,WHY=\"x:allow\""), 1);
    ck_assert_int_eq(rule.allow, 0);
    ck_assert_str_eq(key(0), "1.2.3.4/32");
    ck_assert_int_eq(parse("1.2.3.4:allow,_U8=\"\xc3\xa9t\xc3\xa9\""), 1);
    ck_assert_str_eq(vars(), "_U8=\xc3\xa9t\xc3\xa9;");
}
END_TEST

START_TEST(bad_lines)
{
    bad("127.", "no ':allow' or ':deny'");
    bad("127.:permit", "no ':allow' or ':deny'");
    bad("127.:allowed", "no ':allow' or ':deny'");
    bad("127.:Allow", "no ':allow' or ':deny'");
    bad("1.2.3:allow", "4 octets");
    bad("1.2.3.4.:allow", "4 octets make a whole address");
    bad("1.2.3.4.5:allow", "more than 4 octets");
    bad("1.2.3.256:allow", "over 255");
    bad("1.2..4:allow", "empty");
    bad("010.:allow", "leading zeros");
    bad("1.2-3.4.5:allow", "last octet");
    bad("1.2.3.9-4:allow", "backwards");
    bad("1.2.3.x:allow", "not an address");
    bad("host.example:allow", "not an address");
    bad("=host.example:allow", "not an address");
    bad("10.0.0.1/8:allow", "bits are set beyond /8 (the network is 10.0.0.0/8)");
    bad("10.0.0.0/33:allow", "at most 32");
    bad("::/129:allow", "at most 128");
    bad("10.0.0.0/:allow", "must be a number");
    bad("10.0.0.0/x:allow", "must be a number");
    bad("10/8:allow", "not an IPv4 or IPv6 address");
    bad("::ffff:1.2.3.4/95:allow", "/96");
    bad("2001:db8::1-2:allow", "ranges are for IPv4");
    bad("2001:db8::g:allow", "not an IPv6 address");
    bad("2001:db8:12345::allow", "at most 4 hex digits");
    bad("1:2:3:4:5:6:7:8::allow", "8 groups");
    bad("fe80::1%eth0:allow", "not an IPv6 address");
    bad("127.:allow,RELAYCLIENT", "needs a value");
    bad("127.:allow,", "ends with a ','");
    bad("127.:allow,,X=1", "empty item");
    bad("127.:allow,1X=y", "not a variable name");
    bad("127.:allow,A-B=y", "not a variable name");
    bad("127.:allow,X=1,X=2", "set twice");
    bad("127.:allow,X=\"open", "no '\"' closes it");
    bad("127.:allow,X=@fix.me", "no '@' closes it");
    bad("127.:allow,X=\"a\"b", "expected ','");
    bad("127.:allow,TCPREMOTEIP=1.2.3.4", "set by qmail-tcpd");
    bad("127.:allow,PROTO=x", "set by qmail-tcpd");
    bad("127.:allow,TCPLOCALPORT=1", "set by qmail-tcpd");
    bad("127.:allow,X=\"a\tb\"", "control character");
    bad("127.:allow,X=\"a\x01\"", "control character");
    bad("127.:allow,X=\"a\x7f\"", "control character");
    /* a NUL byte in the line */
    ck_assert_int_eq(tcpd_rule_parse("1.2.3.4:allow,X=\"a\0b\"", 20, &rule,
                                     &err),
                     -1);
}
END_TEST

START_TEST(too_many_vars)
{
    dstr line = DSTR_ZERO;
    int i;
    ck_assert_int_eq(dstr_copys(&line, ":allow"), 0);
    for (i = 0; i < TCPD_RULE_VARS_MAX; i++)
        ck_assert_int_eq(dstr_catf(&line, ",V%d=1", i), 0);
    ck_assert_int_eq(tcpd_rule_parse(line.s, line.len, &rule, &err), 1);
    ck_assert_int_eq(dstr_cats(&line, ",ONEMORE=1"), 0);
    ck_assert_int_eq(tcpd_rule_parse(line.s, line.len, &rule, &err), -1);
    dstr_free(&line);
}
END_TEST

START_TEST(names)
{
    ck_assert(tcpd_rule_name_ok("RELAYCLIENT", 11));
    ck_assert(tcpd_rule_name_ok("_x1", 3));
    ck_assert(tcpd_rule_name_ok("TCPREMOTEHOST", 13));
    ck_assert(!tcpd_rule_name_ok("", 0));
    ck_assert(!tcpd_rule_name_ok("1X", 2));
    ck_assert(!tcpd_rule_name_ok("A=B", 3));
    ck_assert(!tcpd_rule_name_ok("TCPREMOTEIP", 11));
    ck_assert(!tcpd_rule_name_ok("PROTO", 5));
    ck_assert(tcpd_rule_name_ok("PROTOX", 6));
}
END_TEST

START_TEST(values_round_trip)
{
    dstr v = DSTR_ZERO;
    tcpd_verdict vd;

    ck_assert_int_eq(parse("127.:allow,RELAYCLIENT=\"\",X=1"), 1);
    ck_assert_int_eq(tcpd_rule_value(&rule, 42, &v), 0);
    ck_assert_int_eq(tcpd_verdict_parse(v.s, v.len, &vd), 0);
    ck_assert_int_eq(vd.allow, 1);
    ck_assert_uint_eq(vd.line, 42);
    ck_assert_uint_eq(vd.nvars, 2);
    ck_assert_uint_eq(vd.varslen, strlen("RELAYCLIENT=") + 1 + 4);
    ck_assert_str_eq(vd.vars, "RELAYCLIENT=");

    ck_assert_int_eq(parse(":deny"), 1);
    ck_assert_int_eq(tcpd_rule_value(&rule, 7, &v), 0);
    ck_assert_int_eq(tcpd_verdict_parse(v.s, v.len, &vd), 0);
    ck_assert_int_eq(vd.allow, 0);
    ck_assert_uint_eq(vd.nvars, 0);
    dstr_free(&v);
}
END_TEST

START_TEST(damaged_values)
{
    static const struct { const char *v; size_t n; } cases[] = {
        {"", 0},
        {"A", 1},
        {"A1", 2},             /* no NUL */
        {"X1\0", 3},           /* neither A nor D */
        {"A\0", 2},            /* no line */
        {"Ax\0", 3},
        {"A1\0X=1", 6},        /* last variable not terminated */
        {"A1\0X\0", 5},        /* no '=' */
        {"A1\0=1\0", 6},       /* no name */
        {"A1\0TCPREMOTEIP=1\0", 17},
        {"A1\0X=\n\0", 7},     /* control character */
        {"A123456789012345678901\0", 24},
    };
    tcpd_verdict vd;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        errno = 0;
        ck_assert_msg(tcpd_verdict_parse(cases[i].v, cases[i].n, &vd) == -1,
                      "case %zu accepted", i);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(tcpd_verdict_parse("D9\0A=\0B=x\0", 10, &vd), 0);
    ck_assert_uint_eq(vd.nvars, 2);
}
END_TEST

START_TEST(addresses)
{
    tcpd_addr a;
    char text[TCPD_ADDR_STRMAX];
    unsigned char k1[16], k2[16];

    ck_assert_int_eq(tcpd_addr_parse("192.0.2.1", &a), 0);
    ck_assert_int_eq(a.family, 4);
    ck_assert_int_eq(tcpd_addr_parse("::FFFF:192.0.2.1", &a), 0);
    ck_assert_int_eq(a.family, 4);
    tcpd_addr_format(&a, text);
    ck_assert_str_eq(text, "192.0.2.1");
    ck_assert_int_eq(tcpd_addr_parse("2001:DB8:0::0:1", &a), 0);
    ck_assert_int_eq(a.family, 6);
    tcpd_addr_format(&a, text);
    ck_assert_str_eq(text, "2001:db8::1");
    ck_assert_int_eq(tcpd_addr_parse("1.2.3", &a), -1);
    ck_assert_int_eq(tcpd_addr_parse("01.2.3.4", &a), -1);
    ck_assert_int_eq(tcpd_addr_parse("localhost", &a), -1);
    ck_assert_int_eq(tcpd_addr_parse("", &a), -1);

    ck_assert_int_eq(tcpd_addr_parse("10.1.2.3", &a), 0);
    tcpd_addr_mask(&a, 12);
    tcpd_addr_format(&a, text);
    ck_assert_str_eq(text, "10.0.0.0");
    ck_assert(tcpd_addr_is_masked(&a, 12));
    ck_assert(!tcpd_addr_is_masked(&a, 4));

    /* per-client keys: IPv4 by address, IPv6 by /64 */
    ck_assert_int_eq(tcpd_addr_parse("2001:db8:1:2::5", &a), 0);
    tcpd_addr_limit_key(&a, k1);
    ck_assert_int_eq(tcpd_addr_parse("2001:db8:1:2:ffff::9", &a), 0);
    tcpd_addr_limit_key(&a, k2);
    ck_assert_int_eq(memcmp(k1, k2, 16), 0);
    ck_assert_int_eq(tcpd_addr_parse("2001:db8:1:3::5", &a), 0);
    tcpd_addr_limit_key(&a, k2);
    ck_assert_int_ne(memcmp(k1, k2, 16), 0);
    ck_assert_int_eq(tcpd_addr_parse("10.0.0.1", &a), 0);
    tcpd_addr_limit_key(&a, k1);
    ck_assert_int_eq(tcpd_addr_parse("10.0.0.2", &a), 0);
    tcpd_addr_limit_key(&a, k2);
    ck_assert_int_ne(memcmp(k1, k2, 16), 0);
    /* ::/64 and IPv4 do not share a key */
    ck_assert_int_eq(tcpd_addr_parse("::1", &a), 0);
    tcpd_addr_limit_key(&a, k2);
    ck_assert_int_ne(memcmp(k1, k2, 16), 0);
}
END_TEST

/* ---- compile and look up ------------------------------------------------ */

static int compile(const char *text, dstr *warn)
{
    int fd, r;
    tmpdir_puts("rules", text);
    fd = open("rules", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ne(fd, -1);
    err.len = 0;
    r = tcpd_rules_compile(fd, "rules.cdb", "rules.tmp", &err, warn);
    close(fd);
    return r;
}

/* "A<line>" / "D<line>" / "-" (no rule) for a client, plus ":vars" */
static const char *decide(const char *ip)
{
    static char out[256];
    dstr v = DSTR_ZERO, k = DSTR_ZERO;
    tcpd_verdict vd;
    tcpd_addr a;
    size_t i = 0, o;

    ck_assert_int_eq(tcpd_addr_parse(ip, &a), 0);
    ck_assert_int_eq(tcpd_rules_decide("rules.cdb", &a, &v, &k, &vd), 0);
    if (!vd.line)
        o = (size_t)snprintf(out, sizeof out, "-");
    else
        o = (size_t)snprintf(out, sizeof out, "%c%lu", vd.allow ? 'A' : 'D',
                             vd.line);
    while (i < vd.varslen && o < sizeof out - 1) {
        o += (size_t)snprintf(out + o, sizeof out - o, ":%s", vd.vars + i);
        i += strlen(vd.vars + i) + 1;
    }
    dstr_free(&v);
    dstr_free(&k);
    return out;
}

START_TEST(longest_prefix_wins)
{
    dstr warn = DSTR_ZERO;
    ck_assert_int_eq(compile("# rules\n"
                             "10.:allow,L=8\n"                 /* 2 */
                             "10.1.0.0/16:deny\n"              /* 3 */
                             "10.1.2.:allow,L=24\n"            /* 4 */
                             "10.1.2.3:deny\n"                 /* 5 */
                             "10.1.2.128/25:allow,L=25\n"      /* 6 */
                             "2001:db8::allow,L=32\n"          /* 7 */
                             "2001:db8:1::/48:deny\n"          /* 8 */
                             "2001:db8:1::1:allow,L=128\n"     /* 9 */
                             "::/0:allow,L=v6\n"               /* 10 */
                             ":deny\n",                        /* 11 */
                             &warn),
                     0);
    ck_assert_uint_eq(warn.len, 0);
    ck_assert_str_eq(decide("10.9.9.9"), "A2:L=8");
    ck_assert_str_eq(decide("10.1.9.9"), "D3");
    ck_assert_str_eq(decide("10.1.2.4"), "A4:L=24");
    ck_assert_str_eq(decide("10.1.2.3"), "D5");
    ck_assert_str_eq(decide("10.1.2.200"), "A6:L=25");
    ck_assert_str_eq(decide("::ffff:10.1.2.200"), "A6:L=25");
    ck_assert_str_eq(decide("11.0.0.1"), "D11");
    ck_assert_str_eq(decide("2001:db8:ffff::1"), "A7:L=32");
    ck_assert_str_eq(decide("2001:db8:1:abcd::1"), "D8");
    ck_assert_str_eq(decide("2001:db8:1::1"), "A9:L=128");
    ck_assert_str_eq(decide("2001:db9::1"), "A10:L=v6");
    dstr_free(&warn);
}
END_TEST

START_TEST(no_rule_means_allow)
{
    dstr warn = DSTR_ZERO;
    ck_assert_int_eq(compile("127.:allow,X=1\n", &warn), 0);
    ck_assert_str_eq(decide("127.1.1.1"), "A1:X=1");
    ck_assert_str_eq(decide("192.0.2.1"), "-");
    ck_assert_int_eq(compile("", &warn), 0);
    ck_assert_str_eq(decide("192.0.2.1"), "-");
    ck_assert_int_eq(tcpd_rules_check("rules.cdb"), 0);
    dstr_free(&warn);
}
END_TEST

static int has(const dstr *d, const char *text)
{
    return d->len && memmem(d->s, d->len, text, strlen(text)) != 0;
}

START_TEST(duplicates_first_wins)
{
    dstr warn = DSTR_ZERO;
    ck_assert_int_eq(compile("1.2.3.4-7:deny\n"
                             "1.2.3.5:allow\n"
                             ":allow\n"
                             ":deny\n", &warn),
                     0);
    ck_assert_str_eq(decide("1.2.3.5"), "D1");
    ck_assert_str_eq(decide("9.9.9.9"), "A3");
    ck_assert(has(&warn, "line 2: 1.2.3.5/32 was already given on line 1, "
                         "which wins"));
    ck_assert(has(&warn, "line 4: the empty address was already given on "
                         "line 3, which wins"));
    ck_assert(!has(&warn, "line 3"  " was"));
    dstr_free(&warn);
}
END_TEST

START_TEST(bad_input_keeps_old_cdb)
{
    dstr warn = DSTR_ZERO, before = DSTR_ZERO, after = DSTR_ZERO;
    ck_assert_int_eq(compile(":allow\n", &warn), 0);
    ck_assert_int_eq(file_read("rules.cdb", &before, 1 << 20), 0);
    ck_assert_int_eq(compile("127.:allow\n\n1.2.3:deny\n", &warn), -1);
    ck_assert_str_eq(err.s, "line 3: 1.2.3: an address has 4 octets; end a "
                            "prefix with '.' (e.g. 1.2.3.)");
    ck_assert_int_eq(file_read("rules.cdb", &after, 1 << 20), 0);
    ck_assert_uint_eq(before.len, after.len);
    ck_assert_int_eq(memcmp(before.s, after.s, before.len), 0);
    ck_assert_int_eq(access("rules.tmp", F_OK), -1);
    dstr_free(&warn);
    dstr_free(&before);
    dstr_free(&after);
}
END_TEST

START_TEST(long_line_refused)
{
    dstr warn = DSTR_ZERO, text = DSTR_ZERO;
    size_t i;
    ck_assert_int_eq(dstr_cats(&text, ":allow\n127.:allow,X=\""), 0);
    for (i = 0; i < TCPD_RULE_LINE_MAX; i++)
        ck_assert_int_eq(dstr_catc(&text, 'x'), 0);
    ck_assert_int_eq(dstr_cats(&text, "\"\n"), 0);
    ck_assert_int_eq(dstr_cat0(&text), 0);
    ck_assert_int_eq(compile(text.s, &warn), -1);
    ck_assert_ptr_nonnull(strstr(err.s, "line 2: longer than"));
    dstr_free(&warn);
    dstr_free(&text);
}
END_TEST

START_TEST(missing_or_foreign_file)
{
    dstr v = DSTR_ZERO, k = DSTR_ZERO;
    tcpd_verdict vd;
    tcpd_addr a;

    ck_assert_int_eq(tcpd_addr_parse("127.0.0.1", &a), 0);
    errno = 0;
    ck_assert_int_eq(tcpd_rules_decide("none.cdb", &a, &v, &k, &vd), -1);
    ck_assert_int_eq(errno, ENOENT);
    tmpdir_puts("junk.cdb", "not a cdb at all");
    ck_assert_int_eq(tcpd_rules_check("junk.cdb"), -1);
    ck_assert_int_eq(tcpd_rules_decide("junk.cdb", &a, &v, &k, &vd), -1);
    ck_assert(errno == EINVAL || errno == EPROTO);
    tmpdir_puts("empty.cdb", "");
    ck_assert_int_eq(tcpd_rules_check("empty.cdb"), -1);
    dstr_free(&v);
    dstr_free(&k);
}
END_TEST

/* ---- the child's environment ------------------------------------------- */

static const char *env_value(const envbuild *e, const char *name)
{
    size_t i, n = strlen(name);
    for (i = 0; i < e->n; i++)
        if (strncmp(e->vec[i], name, n) == 0 && e->vec[i][n] == '=')
            return e->vec[i] + n + 1;
    return 0;
}

START_TEST(child_environment)
{
    envbuild e = ENVBUILD_ZERO;
    tcpd_session s;
    dstr v = DSTR_ZERO;

    memset(&s, 0, sizeof s);
    ck_assert_int_eq(tcpd_addr_parse("2001:db8::5", &s.remote), 0);
    ck_assert_int_eq(tcpd_addr_parse("2001:db8::1", &s.local), 0);
    tcpd_addr_format(&s.remote, s.remote_ip);
    tcpd_addr_format(&s.local, s.local_ip);
    s.remote_port = 40000;
    s.local_port = 25;
    ck_assert_int_eq(parse(":allow,RELAYCLIENT=\"\",TCPREMOTEHOST=\"r.example\""),
                     1);
    ck_assert_int_eq(tcpd_rule_value(&rule, 1, &v), 0);
    ck_assert_int_eq(tcpd_verdict_parse(v.s, v.len, &s.verdict), 0);

    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    ck_assert_int_eq(envbuild_set(&e, "TCPREMOTEINFO", "forged"), 0);
    ck_assert_int_eq(envbuild_set(&e, "TCPLOCALHOST", "forged"), 0);
    ck_assert_int_eq(envbuild_set(&e, "KEEP", "me"), 0);
    ck_assert_int_eq(tcpd_child_env(&e, &s, 0, 0), 0);
    ck_assert_str_eq(env_value(&e, "PROTO"), "TCP6");
    ck_assert_str_eq(env_value(&e, "TCPREMOTEIP"), "2001:db8::5");
    ck_assert_str_eq(env_value(&e, "TCPREMOTEPORT"), "40000");
    ck_assert_str_eq(env_value(&e, "TCPLOCALIP"), "2001:db8::1");
    ck_assert_str_eq(env_value(&e, "TCPLOCALPORT"), "25");
    ck_assert_str_eq(env_value(&e, "RELAYCLIENT"), "");
    ck_assert_str_eq(env_value(&e, "TCPREMOTEHOST"), "r.example");
    ck_assert_str_eq(env_value(&e, "KEEP"), "me");
    ck_assert_ptr_null(env_value(&e, "TCPREMOTEINFO"));
    ck_assert_ptr_null(env_value(&e, "TCPLOCALHOST"));
    envbuild_free(&e);

    memset(&s.verdict, 0, sizeof s.verdict);
    ck_assert_int_eq(tcpd_addr_parse("127.0.0.1", &s.remote), 0);
    ck_assert_int_eq(envbuild_init(&e, 0), 0);
    ck_assert_int_eq(envbuild_set(&e, "TCPREMOTEHOST", "stale"), 0);
    ck_assert_int_eq(tcpd_child_env(&e, &s, "mx.example", "c.example"), 0);
    ck_assert_str_eq(env_value(&e, "PROTO"), "TCP");
    ck_assert_str_eq(env_value(&e, "TCPLOCALHOST"), "mx.example");
    ck_assert_str_eq(env_value(&e, "TCPREMOTEHOST"), "c.example");
    ck_assert_ptr_null(env_value(&e, "RELAYCLIENT"));
    envbuild_free(&e);
    dstr_free(&v);
}
END_TEST

/* ---- the session table ------------------------------------------------- */

START_TEST(table)
{
    tcpd_table t;
    unsigned char a[16] = {1}, b[16] = {2};
    tcpd_conn out;
    int i;

    ck_assert_int_eq(tcpd_table_init(&t, 0, 1), -1);
    ck_assert_int_eq(tcpd_table_init(&t, TCPD_TABLE_MAX + 1, 1), -1);
    ck_assert_int_eq(tcpd_table_init(&t, 5, 12345), 0);
    ck_assert_ptr_nonnull(tcpd_table_add(&t, 100, a));
    ck_assert_ptr_nonnull(tcpd_table_add(&t, 101, a));
    ck_assert_ptr_nonnull(tcpd_table_add(&t, 102, b));
    ck_assert_uint_eq(tcpd_table_count(&t, a), 2);
    ck_assert_uint_eq(tcpd_table_count(&t, b), 1);
    ck_assert_ptr_nonnull(tcpd_table_add(&t, 103, b));
    ck_assert_ptr_nonnull(tcpd_table_add(&t, 104, b));
    ck_assert_ptr_null(tcpd_table_add(&t, 105, a)); /* full */
    ck_assert_uint_eq(t.used, 5);
    ck_assert_int_eq(tcpd_table_remove(&t, 101, &out), 1);
    ck_assert_int_eq(out.pid, 101);
    ck_assert_int_eq(memcmp(out.key, a, 16), 0);
    ck_assert_int_eq(tcpd_table_remove(&t, 101, &out), 0);
    ck_assert_int_eq(tcpd_table_remove(&t, 999, 0), 0);
    ck_assert_uint_eq(tcpd_table_count(&t, a), 1);
    ck_assert_ptr_nonnull(tcpd_table_add(&t, 106, a));
    ck_assert_uint_eq(tcpd_table_count(&t, a), 2);
    for (i = 100; i <= 106; i++)
        tcpd_table_remove(&t, i, 0);
    ck_assert_uint_eq(t.used, 0);
    ck_assert_uint_eq(tcpd_table_count(&t, a), 0);
    ck_assert_uint_eq(tcpd_table_count(&t, b), 0);
    tcpd_table_free(&t);
}
END_TEST

START_TEST(table_churn)
{
    /* many adds and removes in mixed order keep the counts exact */
    enum { MAX = 1000 };
    static int live[MAX];
    tcpd_table t;
    unsigned char key[16];
    size_t expect[7] = {0};
    int i, round;
    pid_t next = 2;

    ck_assert_int_eq(tcpd_table_init(&t, MAX, 99), 0);
    srand(7);
    for (round = 0; round < 20000; round++) {
        int slot = rand() % MAX;
        memset(key, 0, 16);
        if (live[slot]) {
            ck_assert_int_eq(tcpd_table_remove(&t, live[slot], 0), 1);
            expect[live[slot] % 7]--;
            live[slot] = 0;
        } else {
            live[slot] = next++;
            key[15] = (unsigned char)(live[slot] % 7);
            ck_assert_ptr_nonnull(tcpd_table_add(&t, live[slot], key));
            expect[live[slot] % 7]++;
        }
    }
    for (i = 0; i < 7; i++) {
        memset(key, 0, 16);
        key[15] = (unsigned char)i;
        ck_assert_uint_eq(tcpd_table_count(&t, key), expect[i]);
    }
    tcpd_table_free(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcpd_rules");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, blank_and_comments);
    tcase_add_test(tc, ipv4_forms);
    tcase_add_test(tc, ipv6_forms_and_normalisation);
    tcase_add_test(tc, any_and_instructions);
    tcase_add_test(tc, bad_lines);
    tcase_add_test(tc, too_many_vars);
    tcase_add_test(tc, names);
    tcase_add_test(tc, values_round_trip);
    tcase_add_test(tc, damaged_values);
    tcase_add_test(tc, addresses);
    tcase_add_test(tc, child_environment);
    tcase_add_test(tc, table);
    tcase_add_test(tc, table_churn);
    suite_add_tcase(s, tc);
    tc = tcase_create("cdb");
    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_add_test(tc, longest_prefix_wins);
    tcase_add_test(tc, no_rule_means_allow);
    tcase_add_test(tc, duplicates_first_wins);
    tcase_add_test(tc, bad_input_keeps_old_cdb);
    tcase_add_test(tc, long_line_refused);
    tcase_add_test(tc, missing_or_foreign_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    int failed;
    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
