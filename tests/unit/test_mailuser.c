// modules: src/mail
/* Unit tests: recipient to user mapping of qmail-lspawn. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailuser.h"

static char dir[] = "/tmp/test_mailuser_XXXXXX";

static void setup(void)
{
    char p[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chdir(dir), 0);
    mkdir("mail", 0755);
    mkdir("mail/demo", 0755);
    mkdir("mail/demo-lists", 0755);
    snprintf(p, sizeof p, "mail/%s", "a.b_c");
    mkdir(p, 0755);
    ck_assert_int_eq(mailuser_init(geteuid() == 0), 0);
}

static void teardown(void)
{
    rmdir("mail/demo");
    rmdir("mail/demo-lists");
    rmdir("mail/a.b_c");
    rmdir("mail");
    if (chdir("/") == 0)
        rmdir(dir);
}

START_TEST(names)
{
    ck_assert(mailuser_name_ok("demo", 4));
    ck_assert(mailuser_name_ok("a.b_c-d", 7));
    ck_assert(!mailuser_name_ok("", 0));
    ck_assert(!mailuser_name_ok(".hidden", 7));
    ck_assert(!mailuser_name_ok("-x", 2));
    ck_assert(!mailuser_name_ok("a/b", 3));
    ck_assert(!mailuser_name_ok("..", 2));
    ck_assert(!mailuser_name_ok("Demo", 4));
    ck_assert(!mailuser_name_ok("a b", 3));
}
END_TEST

START_TEST(longest_prefix)
{
    struct mailuser u;
    char why[256];

    setup();
    ck_assert_int_eq(mailuser_find("Demo@LocalHost", &u, why, sizeof why), 0);
    ck_assert_str_eq(u.user, "demo");
    ck_assert_str_eq(u.local, "demo");
    ck_assert_str_eq(u.domain, "localhost");
    ck_assert_str_eq(u.dash, "");
    ck_assert_int_eq(mailuser_find("demo-lists@x", &u, why, sizeof why), 0);
    ck_assert_str_eq(u.user, "demo-lists");
    ck_assert_int_eq(mailuser_find("demo-lists-x@x", &u, why, sizeof why), 0);
    ck_assert_str_eq(u.user, "demo-lists");
    ck_assert_str_eq(u.ext, "x");
    ck_assert_int_eq(mailuser_find("demo-listsx@x", &u, why, sizeof why), 0);
    ck_assert_str_eq(u.user, "demo");
    ck_assert_str_eq(u.dash, "-");
    ck_assert_str_eq(u.ext, "listsx");
    ck_assert_int_eq(mailuser_find("a.b_c@x", &u, why, sizeof why), 0);
    teardown();
}
END_TEST

START_TEST(refusals_are_permanent_and_safe)
{
    struct mailuser u;
    char why[256];
    const char *bad[] = {"nobody-here@x", "../etc@x", "demo/../x@x",
                         ".demo@x", "@x", "-demo@x", "mail@x"};
    size_t i;

    setup();
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = mailuser_find(bad[i], &u, why, sizeof why);
        /* as root, "mail" may be a system account: skip that one */
        if (r == 0 && geteuid() == 0 && strcmp(bad[i], "mail@x") == 0)
            continue;
        ck_assert_msg(r == -1, "%s accepted", bad[i]);
        ck_assert_msg(why[0] == '!', "%s: %s", bad[i], why);
    }
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mailuser");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, names);
    tcase_add_test(tc, longest_prefix);
    tcase_add_test(tc, refusals_are_permanent_and_safe);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
