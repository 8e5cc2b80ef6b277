// modules: src/smtpd
/* Unit tests: qmail-smtpd's command line parser and command/state table
 * (smtpd_cmd). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_cmd.h"

static int parse(const char *s, smtpd_cmd *c)
{
    return smtpd_cmd_parse(s, strlen(s), c);
}

static void arg_is(const smtpd_cmd *c, const char *want)
{
    ck_assert_uint_eq(c->arglen, strlen(want));
    ck_assert_int_eq(memcmp(c->arg, want, c->arglen), 0);
}

START_TEST(verbs)
{
    static const struct {
        const char *line;
        smtpd_verb verb;
        const char *arg;
    } t[] = {
        {"HELO x.test\r\n", SMTPD_V_HELO, "x.test"},
        {"helo x.test\r\n", SMTPD_V_HELO, "x.test"},
        {"EhLo x.test\n", SMTPD_V_EHLO, "x.test"},
        {"MAIL FROM:<a@b>\r\n", SMTPD_V_MAIL, "FROM:<a@b>"},
        {"MAIL  FROM:<a@b>  \r\n", SMTPD_V_MAIL, "FROM:<a@b>"},
        {"RCPT TO:<a@b>\r\n", SMTPD_V_RCPT, "TO:<a@b>"},
        {"DATA\r\n", SMTPD_V_DATA, ""},
        {"DATA", SMTPD_V_DATA, ""},
        {"data \r\n", SMTPD_V_DATA, ""},
        {"RSET\r\n", SMTPD_V_RSET, ""},
        {"NOOP hello there\r\n", SMTPD_V_NOOP, "hello there"},
        {"QUIT\r\n", SMTPD_V_QUIT, ""},
        {"VRFY someone\r\n", SMTPD_V_VRFY, "someone"},
        {"HELP\r\n", SMTPD_V_HELP, ""},
        {"GET / HTTP/1.1\r\n", SMTPD_V_HTTP, "/ HTTP/1.1"},
        {"post /x HTTP/1.0\r\n", SMTPD_V_HTTP, "/x HTTP/1.0"},
        {"CONNECT x:25 HTTP/1.0\r\n", SMTPD_V_HTTP, "x:25 HTTP/1.0"},
        {"EXPN list\r\n", SMTPD_V_UNKNOWN, "list"},
        {"BDAT 10 LAST\r\n", SMTPD_V_UNKNOWN, "10 LAST"},
        {"MAILFROM:<a@b>\r\n", SMTPD_V_UNKNOWN, ""},
        {"HEL\r\n", SMTPD_V_UNKNOWN, ""},
        {"HELOO x\r\n", SMTPD_V_UNKNOWN, "x"},
        {"\r\n", SMTPD_V_UNKNOWN, ""},
        {"", SMTPD_V_UNKNOWN, ""},
        {" HELO x\r\n", SMTPD_V_UNKNOWN, "HELO x"},
    };
    size_t i;
    smtpd_cmd c;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_assert_msg(parse(t[i].line, &c) == SMTPD_CMD_OK, "%s", t[i].line);
        ck_assert_msg(c.def->verb == t[i].verb, "%s: verb %d", t[i].line,
                      c.def->verb);
        arg_is(&c, t[i].arg);
    }
}
END_TEST

START_TEST(bad_characters)
{
#define L(s) {s, sizeof s - 1}
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        L("HELO x\0y\r\n"), L("HELO x\ry\r\n"),
        L("MAIL FROM:<a@b>\rRCPT TO:<c@d>\r\n"), L("HELO\tx\r\n"),
        L("NOOP \x7f\r\n"), L("HELO x\r\r\n"), L("\x1b[1mHELO\r\n"),
    };
#undef L
    size_t i;
    smtpd_cmd c;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(smtpd_cmd_parse(bad[i].s, bad[i].n, &c) ==
                          SMTPD_CMD_BADCHAR,
                      "%zu", i);
        ck_assert_ptr_nonnull(c.def);
    }
    /* 8-bit bytes are the argument parsers' business */
    ck_assert_int_eq(parse("HELO \xc3\xa9\r\n", &c), SMTPD_CMD_OK);
}
END_TEST

START_TEST(line_limits)
{
    char line[700];
    smtpd_cmd c;

    /* 512 bytes with CRLF: fine; 513: too long */
    memset(line, 'x', sizeof line);
    memcpy(line, "NOOP ", 5);
    memcpy(line + 510, "\r\n", 2);
    ck_assert_int_eq(smtpd_cmd_parse(line, 512, &c), SMTPD_CMD_OK);
    memcpy(line + 511, "\r\n", 2);
    ck_assert_int_eq(smtpd_cmd_parse(line, 513, &c), SMTPD_CMD_TOOLONG);
    ck_assert_int_eq(c.def->verb, SMTPD_V_NOOP);
    /* MAIL may be 40 bytes longer (SIZE=, BODY=) */
    memset(line, 'x', sizeof line);
    memcpy(line, "MAIL ", 5);
    memcpy(line + SMTPD_CMD_MAIL_MAX - 2, "\r\n", 2);
    ck_assert_int_eq(smtpd_cmd_parse(line, SMTPD_CMD_MAIL_MAX, &c),
                     SMTPD_CMD_OK);
    memcpy(line + SMTPD_CMD_MAIL_MAX - 1, "\r\n", 2);
    ck_assert_int_eq(smtpd_cmd_parse(line, SMTPD_CMD_MAIL_MAX + 1, &c),
                     SMTPD_CMD_TOOLONG);
    memcpy(line, "RCPT ", 5);
    ck_assert_int_eq(smtpd_cmd_parse(line, 600, &c), SMTPD_CMD_TOOLONG);
}
END_TEST

START_TEST(state_table)
{
    const smtpd_cmd_def *mail = smtpd_cmd_def_of(SMTPD_V_MAIL);
    const smtpd_cmd_def *rcpt = smtpd_cmd_def_of(SMTPD_V_RCPT);
    const smtpd_cmd_def *data = smtpd_cmd_def_of(SMTPD_V_DATA);
    smtpd_verb v;
    int st;

    /* MAIL only with no transaction, after HELO/EHLO */
    ck_assert(!smtpd_cmd_allowed(mail, SMTPD_ST_START));
    ck_assert(smtpd_cmd_allowed(mail, SMTPD_ST_READY));
    ck_assert(!smtpd_cmd_allowed(mail, SMTPD_ST_MAIL));
    ck_assert(!smtpd_cmd_allowed(mail, SMTPD_ST_RCPT));
    /* RCPT and DATA only inside a transaction */
    ck_assert(!smtpd_cmd_allowed(rcpt, SMTPD_ST_START));
    ck_assert(!smtpd_cmd_allowed(rcpt, SMTPD_ST_READY));
    ck_assert(smtpd_cmd_allowed(rcpt, SMTPD_ST_MAIL));
    ck_assert(smtpd_cmd_allowed(rcpt, SMTPD_ST_RCPT));
    ck_assert(!smtpd_cmd_allowed(data, SMTPD_ST_READY));
    ck_assert(smtpd_cmd_allowed(data, SMTPD_ST_RCPT));
    /* everything else anywhere */
    for (v = SMTPD_V_HELO; v < SMTPD_NVERBS; v++) {
        if (v == SMTPD_V_MAIL || v == SMTPD_V_RCPT || v == SMTPD_V_DATA)
            continue;
        for (st = 0; st < SMTPD_NSTATES; st++)
            ck_assert_msg(smtpd_cmd_allowed(smtpd_cmd_def_of(v), st),
                          "%s in %s", smtpd_cmd_def_of(v)->name,
                          smtpd_state_name(st));
    }
    ck_assert(!smtpd_cmd_allowed(mail, SMTPD_NSTATES));
    ck_assert(!smtpd_cmd_allowed(mail, (smtpd_state)-1));
    /* table entries match their verbs */
    for (v = 0; v < SMTPD_NVERBS; v++)
        ck_assert_int_eq(smtpd_cmd_def_of(v)->verb, v);
    ck_assert_int_eq(smtpd_cmd_def_of((smtpd_verb)999)->verb,
                     SMTPD_V_UNKNOWN);
    /* sequence replies are 503 5.5.1 and say what is missing */
    ck_assert_str_eq(smtpd_cmd_badseq(mail, SMTPD_ST_START),
                     "503 5.5.1 send HELO or EHLO first");
    ck_assert_str_eq(smtpd_cmd_badseq(rcpt, SMTPD_ST_READY),
                     "503 5.5.1 MAIL first");
    ck_assert(strncmp(smtpd_cmd_badseq(mail, SMTPD_ST_RCPT), "503 5.5.1 ",
                      10) == 0);
    ck_assert_str_eq(smtpd_state_name(SMTPD_ST_RCPT), "RCPT");
}
END_TEST

START_TEST(random_lines)
{
    char line[600];
    unsigned seed = 7;
    size_t i, k, n;
    smtpd_cmd c;

    for (i = 0; i < 100000; i++) {
        n = (size_t)(rand_r(&seed) % sizeof line);
        for (k = 0; k < n; k++)
            line[k] = (char)rand_r(&seed);
        if (n > 5 && rand_r(&seed) % 2)
            memcpy(line, "MAIL ", 5);
        (void)smtpd_cmd_parse(line, n, &c);
        ck_assert_ptr_nonnull(c.def);
        ck_assert(c.arg >= line && c.arg + c.arglen <= line + n);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtpd_cmd");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, verbs);
    tcase_add_test(tc, bad_characters);
    tcase_add_test(tc, line_limits);
    tcase_add_test(tc, state_table);
    tcase_add_test(tc, random_lines);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
