// modules: src/smtpd
/* Unit tests: qmail-smtpd's configuration (smtpd_conf), its policy files
 * (smtpd_policy: badmailfrom, rcpthosts, morercpthosts.cdb, locals) and
 * the Received line (smtpd_received). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cdbmap.h"
#include "smtpd_conf.h"
#include "smtpd_policy.h"
#include "smtpd_queue.h"
#include "unit_tmpdir.h"

static void clear_env(void)
{
    unsetenv("DATABYTES");
    unsetenv("GREETDELAY");
    unsetenv("RELAYCLIENT");
    unsetenv("TCPREMOTEIP");
    unsetenv("TCPLOCALIP");
}

static void setup(void)
{
    tmpdir_enter();
    ck_assert_int_eq(mkdir("control", 0755), 0);
    clear_env();
}

static void teardown(void) { tmpdir_leave(); }

static int rcpthosts(const smtpd_conf *c, const char *d)
{
    return smtpd_policy_rcpthosts(c, d, strlen(d));
}

START_TEST(defaults)
{
    smtpd_conf c;
    dstr err = DSTR_ZERO;

    ck_assert_int_eq(smtpd_conf_load(&c, &err), 0);
    ck_assert_str_eq(c.me.s, "localhost");
    ck_assert_str_eq(c.greeting.s, "localhost");
    ck_assert_str_eq(c.localiphost.s, "localhost");
    ck_assert_uint_eq(c.databytes, 0);
    ck_assert_int_eq(c.timeout, 1200);
    ck_assert_int_eq(c.session_timeout, 3600);
    ck_assert_int_eq(c.greetdelay, 1);
    ck_assert_uint_eq(c.maxrcpt, 100);
    ck_assert_uint_eq(c.maxerrors, 20);
    ck_assert_int_eq(c.rcptcheck, 1);
    ck_assert_int_eq(c.relayclient, 0);
    ck_assert_int_eq(c.rcpthosts_missing, 1);
    /* no rcpthosts: nothing is accepted (safe, unlike qmail) */
    ck_assert_int_eq(rcpthosts(&c, "localhost"), 0);
    /* no locals: me */
    ck_assert(smtpd_policy_local(&c, "LocalHost", 9));
    smtpd_conf_free(&c);
    dstr_free(&err);
}
END_TEST

START_TEST(files_and_environment)
{
    smtpd_conf c;
    dstr err = DSTR_ZERO;

    tmpdir_puts("control/me", "mx.example.test\n");
    tmpdir_puts("control/smtpgreeting", "Hello\rthere \nsecond line\n");
    tmpdir_puts("control/databytes", "1000\n");
    tmpdir_puts("control/timeoutsmtpd", "0\n");
    tmpdir_puts("control/rcptcheck", "0\n");
    tmpdir_puts("control/maxrcpt", "5\n");
    tmpdir_puts("control/greetdelay", "0\n");
    setenv("DATABYTES", "2000", 1);
    setenv("RELAYCLIENT", "", 1);
    setenv("TCPREMOTEIP", "192.0.2.1", 1);
    ck_assert_int_eq(smtpd_conf_load(&c, &err), 0);
    ck_assert_str_eq(c.me.s, "mx.example.test");
    /* a control byte can never reach a reply */
    ck_assert_str_eq(c.greeting.s, "Hello?there");
    ck_assert_str_eq(c.localiphost.s, "mx.example.test");
    ck_assert_uint_eq(c.databytes, 2000);
    ck_assert_int_eq(c.timeout, 1);
    ck_assert_int_eq(c.rcptcheck, 0);
    ck_assert_uint_eq(c.maxrcpt, 5);
    ck_assert_int_eq(c.greetdelay, 0);
    ck_assert_int_eq(c.relayclient, 1);
    ck_assert_str_eq(c.relayclient_value.s, "");
    ck_assert_str_eq(c.remoteip, "192.0.2.1");
    ck_assert(smtpd_policy_local(&c, "MX.example.test", 15));
    smtpd_conf_free(&c);

    /* bad values are errors naming their source, never the default */
    setenv("DATABYTES", "lots", 1);
    ck_assert_int_eq(smtpd_conf_load(&c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.s, "DATABYTES"));
    smtpd_conf_free(&c);
    unsetenv("DATABYTES");
    tmpdir_puts("control/maxrcpt", "many\n");
    ck_assert_int_eq(smtpd_conf_load(&c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.s, "control/maxrcpt"));
    smtpd_conf_free(&c);
    unlink("control/maxrcpt");
    chmod("control", 0);
    if (access("control/me", R_OK) == -1) { /* not as root */
        ck_assert_int_eq(smtpd_conf_load(&c, &err), -1);
        smtpd_conf_free(&c);
    }
    chmod("control", 0755);
    dstr_free(&err);
}
END_TEST

START_TEST(rcpthosts_semantics)
{
    smtpd_conf c;
    dstr err = DSTR_ZERO, pairs = DSTR_ZERO;

    tmpdir_puts("control/rcpthosts",
                "example.test\n.sub.example.test\n# comment\nOther.TEST\n");
    ck_assert_int_eq(smtpd_conf_load(&c, &err), 0);
    ck_assert_int_eq(c.rcpthosts_missing, 0);
    ck_assert_int_eq(rcpthosts(&c, "example.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "EXAMPLE.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "other.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "a.sub.example.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "a.b.sub.example.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "sub.example.test"), 0);
    ck_assert_int_eq(rcpthosts(&c, "xsub.example.test"), 0);
    ck_assert_int_eq(rcpthosts(&c, "a.example.test"), 0);
    ck_assert_int_eq(rcpthosts(&c, "example.test.evil"), 0);
    ck_assert_int_eq(rcpthosts(&c, "evilexample.test"), 0);
    ck_assert_int_eq(rcpthosts(&c, "# comment"), 0);
    ck_assert_int_eq(rcpthosts(&c, ""), 0);

    /* morercpthosts.cdb: the domain, or ".suffix" keys */
    ck_assert_int_eq(dstr_catb(&pairs, "more.test\0\0.wild.test\0\0", 23), 0);
    ck_assert_int_eq(cdbmap_make(SMTPD_MORERCPTHOSTS, &pairs), 0);
    ck_assert_int_eq(rcpthosts(&c, "more.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "More.Test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "x.more.test"), 0);
    ck_assert_int_eq(rcpthosts(&c, "x.wild.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "x.y.wild.test"), 1);
    ck_assert_int_eq(rcpthosts(&c, "wild.test"), 0);
    /* an unreadable cdb is a temporary error, not a "no" */
    unlink(SMTPD_MORERCPTHOSTS);
    ck_assert_int_eq(mkdir(SMTPD_MORERCPTHOSTS, 0755), 0);
    ck_assert_int_eq(rcpthosts(&c, "nothere.test"), -1);
    smtpd_conf_free(&c);
    dstr_free(&err);
    dstr_free(&pairs);
}
END_TEST

START_TEST(badmailfrom_semantics)
{
    smtpd_conf c;
    dstr err = DSTR_ZERO;
    static const char *const bad[] = {"spam@bad.test", "SPAM@Bad.Test",
                                      "anyone@evil.test", "x@EVIL.TEST"};
    static const char *const good[] = {"spam@good.test", "spam@bad.test.x",
                                       "x@sub.evil.test", "evil.test", ""};
    size_t i;

    tmpdir_puts("control/badmailfrom", "Spam@bad.test\n@evil.test\n");
    ck_assert_int_eq(smtpd_conf_load(&c, &err), 0);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(smtpd_policy_badmailfrom(&c, bad[i], strlen(bad[i])),
                      "%s", bad[i]);
    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(!smtpd_policy_badmailfrom(&c, good[i], strlen(good[i])),
                      "%s", good[i]);
    smtpd_conf_free(&c);
    dstr_free(&err);
}
END_TEST

START_TEST(received_line)
{
    dstr r = DSTR_ZERO;
    size_t i, lf = 0;

    ck_assert_int_eq(smtpd_received(&r, "client.test", "host.test",
                                    "192.0.2.1", "mx.test", "ESMTP", 0),
                     0);
    ck_assert_int_eq(dstr_cat0(&r), 0);
    ck_assert_str_eq(r.s, "Received: from client.test (host.test "
                          "[192.0.2.1])\n\tby mx.test with ESMTP; Thu, 01 "
                          "Jan 1970 00:00:00 +0000\n");
    ck_assert_int_eq(smtpd_received(&r, "[192.0.2.1]", "", "2001:db8::1",
                                    "mx.test", "SMTP", 0),
                     0);
    ck_assert_int_eq(dstr_cat0(&r), 0);
    ck_assert(strncmp(r.s, "Received: from [192.0.2.1] ([IPv6:2001:db8::1])"
                           "\n\tby mx.test with SMTP; ",
                      70) == 0);
    /* hostile HELO: nothing that could end the line or the comment */
    ck_assert_int_eq(smtpd_received(&r, "x\r\nBcc: victim@x.test (a);b)",
                                    "", "", "mx.test", "ESMTP", 0),
                     0);
    for (i = 0; i < r.len; i++) {
        if (r.s[i] == '\n')
            lf++;
        /* the from part holds no CR, comment, or clause separator */
        if (lf == 0)
            ck_assert(r.s[i] != '\r' && r.s[i] != '(' && r.s[i] != ')' &&
                      r.s[i] != ';');
    }
    ck_assert_uint_eq(lf, 2);
    ck_assert_int_eq(dstr_cat0(&r), 0);
    ck_assert(strncmp(r.s, "Received: from x??Bcc:?victim?x.test??a??b?\n", 44) ==
              0);
    dstr_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtpd_policy");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, files_and_environment);
    tcase_add_test(tc, rcpthosts_semantics);
    tcase_add_test(tc, badmailfrom_semantics);
    tcase_add_test(tc, received_line);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
