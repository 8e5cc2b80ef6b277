// modules: src/checkpw
/* Unit tests: qmail-checkpw's fd-3 reader, the users/passwd parser, the
 * password check through libxcrypt and the user lookup. */
#include <check.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpw_auth.h"
#include "checkpw_input.h"
#include "checkpw_passwd.h"
#include "checkpw_user.h"
#include "unit_tmpdir.h"

/* ---- fd 3 -------------------------------------------------------------------------- */

static int pipe_with(const void *data, size_t n)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], data, n), (ssize_t)n);
    close(p[1]);
    return p[0];
}

static struct checkpw_input in;

START_TEST(input_three_fields)
{
    static const char data[] = "alice\0pass word\0<1.2@h>\0";
    int fd = pipe_with(data, sizeof data - 1);

    ck_assert_int_eq(checkpw_input_read(fd, 5, &in), 0);
    ck_assert_int_eq(close(fd), -1); /* it was closed */
    ck_assert_int_eq(checkpw_input_parse(&in), 0);
    ck_assert_str_eq(in.user, "alice");
    ck_assert_uint_eq(in.userlen, 5);
    ck_assert_str_eq(in.pass, "pass word");
    ck_assert_uint_eq(in.passlen, 9);
    ck_assert_str_eq(in.stamp, "<1.2@h>");
    checkpw_input_wipe(&in);
    ck_assert_int_eq(in.buf[0], 0);
}
END_TEST

static int parse_bytes(const char *data, size_t n)
{
    memset(&in, 0, sizeof in);
    memcpy(in.buf, data, n);
    in.len = n;
    return checkpw_input_parse(&in);
}

START_TEST(input_shapes)
{
    ck_assert_int_eq(parse_bytes("a\0b\0", 4), 0); /* no timestamp */
    ck_assert_str_eq(in.stamp, "");
    ck_assert_int_eq(parse_bytes("a\0\0t\0", 5), 0); /* empty password */
    ck_assert_uint_eq(in.passlen, 0);
    ck_assert_int_eq(parse_bytes("a\0b\0t\0extra\0", 12), 0);
    ck_assert_str_eq(in.stamp, "t");
    ck_assert_int_eq(parse_bytes("", 0), -1);
    ck_assert_int_eq(parse_bytes("a", 1), -1);
    ck_assert_int_eq(parse_bytes("a\0", 2), -1);
    ck_assert_int_eq(parse_bytes("a\0b", 3), -1);
    ck_assert_int_eq(parse_bytes("a\0b\0t", 5), -1);
    ck_assert_int_eq(parse_bytes("\0b\0t\0", 5), -1); /* empty name */
}
END_TEST

START_TEST(input_limit)
{
    char data[CHECKPW_INPUT_MAX + 1];
    int fd;

    memset(data, 'x', sizeof data);
    data[0] = 'u';
    data[1] = 0;
    data[CHECKPW_INPUT_MAX - 1] = 0;
    fd = pipe_with(data, CHECKPW_INPUT_MAX);
    ck_assert_int_eq(checkpw_input_read(fd, 5, &in), 0);
    ck_assert_int_eq(checkpw_input_parse(&in), 0);
    ck_assert_uint_eq(in.passlen, CHECKPW_INPUT_MAX - 3);
    fd = pipe_with(data, sizeof data);
    errno = 0;
    ck_assert_int_eq(checkpw_input_read(fd, 5, &in), -1);
    ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

START_TEST(input_errors)
{
    int p[2];

    errno = 0;
    ck_assert_int_eq(checkpw_input_read(99, 5, &in), -1);
    ck_assert_int_eq(errno, EBADF);
    /* a writer that never closes: the deadline */
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "a\0", 2), 2);
    errno = 0;
    ck_assert_int_eq(checkpw_input_read(p[0], 1, &in), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    close(p[1]);
}
END_TEST

/* ---- users/passwd ------------------------------------------------------------------ */

START_TEST(passwd_lines)
{
    const char *h;
    size_t n;

    ck_assert_int_eq(checkpw_passwd_line("alice:$y$abc", 12, "alice", 5, &h,
                                         &n),
                     1);
    ck_assert_uint_eq(n, 6);
    ck_assert(memcmp(h, "$y$abc", 6) == 0);
    ck_assert_int_eq(checkpw_passwd_line("alice:$6$x\r", 11, "alice", 5, &h,
                                         &n),
                     1);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(checkpw_passwd_line("alice:$6$x:later", 16, "alice", 5,
                                         &h, &n),
                     1);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(checkpw_passwd_line("alice:", 6, "alice", 5, &h, &n), 1);
    ck_assert_uint_eq(n, 0);
    /* prefixes and other names */
    ck_assert_int_eq(checkpw_passwd_line("alice:x", 7, "al", 2, &h, &n), 0);
    ck_assert_int_eq(checkpw_passwd_line("al:x", 4, "alice", 5, &h, &n), 0);
    ck_assert_int_eq(checkpw_passwd_line("alicex:x", 8, "alice", 5, &h, &n),
                     0);
    ck_assert_int_eq(checkpw_passwd_line("alice", 5, "alice", 5, &h, &n), 0);
    ck_assert_int_eq(checkpw_passwd_line("#alice:x", 8, "#alice", 6, &h, &n),
                     0);
    ck_assert_int_eq(checkpw_passwd_line("", 0, "alice", 5, &h, &n), 0);
    ck_assert_int_eq(checkpw_passwd_line(":x", 2, "", 0, &h, &n), 0);
}
END_TEST

START_TEST(passwd_find)
{
    char hash[CHECKPW_HASH_MAX], big[CHECKPW_LINE_MAX + 100];
    int fd;

    memset(big, 'x', sizeof big);
    memcpy(big, "carol:", 6);
    big[sizeof big - 1] = '\n';
    fd = open("passwd", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "# comment\n\nbob:$6$bob\n", 22), 22);
    ck_assert_int_eq(write(fd, big, sizeof big), (ssize_t)sizeof big);
    ck_assert_int_eq(write(fd, "alice:$y$first\r\nalice:$y$second\n", 32),
                     32);
    ck_assert_int_eq(write(fd, "dave:$y$nolf", 12), 12);
    close(fd);

#define FIND(name, want)                                                     \
    do {                                                                     \
        fd = open("passwd", O_RDONLY);                                       \
        ck_assert_int_eq(checkpw_passwd_find(fd, name, strlen(name), hash,   \
                                             sizeof hash),                   \
                         want);                                              \
        close(fd);                                                           \
    } while (0)
    FIND("alice", 1);
    ck_assert_str_eq(hash, "$y$first");
    FIND("bob", 1);
    ck_assert_str_eq(hash, "$6$bob");
    FIND("dave", 1);
    ck_assert_str_eq(hash, "$y$nolf");
    FIND("carol", 0); /* its line is too long: skipped */
    FIND("eve", 0);
    ck_assert_str_eq(hash, "");
    FIND("alic", 0);
#undef FIND
    /* a hash longer than the room for it is not a match */
    fd = open("passwd", O_RDONLY);
    ck_assert_int_eq(checkpw_passwd_find(fd, "alice", 5, hash, 5), 0);
    close(fd);
}
END_TEST

/* ---- hashes ------------------------------------------------------------------------ */

static void make_hash(const char *prefix, const char *pw, char *out,
                      size_t size)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data data;
    const char *h;

    ck_assert_ptr_nonnull(
        crypt_gensalt_rn(prefix, 0, 0, 0, salt, sizeof salt));
    memset(&data, 0, sizeof data);
    h = crypt_rn(pw, salt, &data, (int)sizeof data);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(h[0], '$');
    ck_assert_uint_lt(strlen(h), size);
    memcpy(out, h, strlen(h) + 1);
}

START_TEST(verify_hashes)
{
    char y[CHECKPW_HASH_MAX], six[CHECKPW_HASH_MAX];

    make_hash("$y$", "secret", y, sizeof y);
    make_hash("$6$", "secret", six, sizeof six);
    ck_assert_int_eq(checkpw_verify("secret", y), 1);
    ck_assert_int_eq(checkpw_verify("secret", six), 1);
    ck_assert_int_eq(checkpw_verify("Secret", y), 0);
    ck_assert_int_eq(checkpw_verify("secret ", six), 0);
    ck_assert_int_eq(checkpw_verify("", y), 0);
    /* unusable hashes never match, not even the empty password */
    ck_assert_int_eq(checkpw_verify("", ""), 0);
    ck_assert_int_eq(checkpw_verify("x", "x"), 0);
    ck_assert_int_eq(checkpw_verify("secret", "!"), 0);
    ck_assert_int_eq(checkpw_verify("secret", "*"), 0);
    ck_assert_int_eq(checkpw_verify("secret", "!" "$y$j9T$abc"), 0);
    ck_assert_int_eq(checkpw_verify("test", "aaqPiZY5xR5l."), 0); /* DES */
    ck_assert_int_eq(checkpw_verify("secret", "$y$"), 0);
    ck_assert_int_eq(checkpw_verify("secret", "$zz$garbage"), 0);
    /* a hash cut short does not match its password */
    six[strlen(six) - 1] = 0;
    ck_assert_int_eq(checkpw_verify("secret", six), 0);
    checkpw_dummy("anything");
}
END_TEST

START_TEST(equal_constant_time)
{
    ck_assert_int_eq(checkpw_equal("abc", 3, "abc", 3), 1);
    ck_assert_int_eq(checkpw_equal("abc", 3, "abd", 3), 0);
    ck_assert_int_eq(checkpw_equal("abc", 3, "abcd", 4), 0);
    ck_assert_int_eq(checkpw_equal("", 0, "", 0), 1);
    ck_assert_int_eq(checkpw_equal("a", 1, "", 0), 0);
}
END_TEST

/* ---- users ------------------------------------------------------------------------- */

static char home[PATH_MAX];

static void instance(void)
{
    ck_assert_ptr_nonnull(getcwd(home, sizeof home));
    ck_assert_int_eq(mkdir("users", 0755), 0);
    ck_assert_int_eq(mkdir("mail", 0755), 0);
    ck_assert_int_eq(mkdir("mail/alice", 0700), 0);
    ck_assert_int_eq(mkdir("mail/bob", 0700), 0);
    ck_assert_int_eq(symlink("/tmp", "mail/mallory"), 0);
    tmpdir_puts("users/passwd", "alice:$y$alice\ncarol:$y$carol\n"
                                "mallory:$y$m\n");
}

START_TEST(user_instance)
{
    struct checkpw_user u;
    char why[512], want[PATH_MAX + 20];
    struct stat st;

    instance();
    ck_assert_int_eq(stat("mail/alice", &st), 0);
    ck_assert_int_eq(checkpw_user_find(home, "alice", 5, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_OK);
    ck_assert_str_eq(u.name, "alice");
    ck_assert_str_eq(u.hash, "$y$alice");
    snprintf(want, sizeof want, "%s/mail/alice", home);
    ck_assert_str_eq(u.home, want);
    ck_assert_int_eq(u.uid, st.st_uid);
    ck_assert_int_eq(u.gid, st.st_gid);
    ck_assert_int_eq(u.system, 0);
    ck_assert_str_eq(u.shell, "");
    /* a home without a password line, a password line without a home */
    ck_assert_int_eq(checkpw_user_find(home, "bob", 3, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_NOLOGIN);
    ck_assert_ptr_nonnull(strstr(why, "no POP3 password"));
    ck_assert_int_eq(checkpw_user_find(home, "carol", 5, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_NOLOGIN);
    /* a home that is a symbolic link */
    ck_assert_int_eq(checkpw_user_find(home, "mallory", 7, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_NOLOGIN);
    ck_assert_int_eq(checkpw_user_find(home, "dave", 4, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_UNKNOWN);
}
END_TEST

START_TEST(user_bad_names)
{
    static const char *const names[] = {"", "Alice", "../alice", "a/b",
                                        ".alice", "-alice", "al ice",
                                        "alice\n"};
    struct checkpw_user u;
    char why[512];
    size_t i;

    instance();
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_int_eq(checkpw_user_find(home, names[i], strlen(names[i]),
                                           1, &u, why, sizeof why),
                         CHECKPW_USER_UNKNOWN);
    ck_assert_int_eq(checkpw_user_find(home, "alice\0x", 7, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_UNKNOWN);
}
END_TEST

START_TEST(user_system_accounts)
{
    struct checkpw_user u;
    char why[512];

    instance();
    /* root is never served, an unknown name is unknown, an instance user
     * always wins over a system account of the same name */
    ck_assert_int_eq(checkpw_user_find(home, "root", 4, 1, &u, why,
                                       sizeof why),
                     CHECKPW_USER_NOLOGIN);
    ck_assert_ptr_nonnull(strstr(why, "uid 0"));
    ck_assert_int_eq(checkpw_user_find(home, "nosuchuser-qmail-test", 21, 1,
                                       &u, why, sizeof why),
                     CHECKPW_USER_UNKNOWN);
    ck_assert_int_eq(checkpw_user_find(home, "alice", 5, 1, &u, why,
                                       sizeof why),
                     CHECKPW_USER_OK);
    ck_assert_int_eq(u.system, 0);
    /* system accounts are not looked at unless asked */
    ck_assert_int_eq(checkpw_user_find(home, "root", 4, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_UNKNOWN);
}
END_TEST

START_TEST(user_no_passwd_file)
{
    struct checkpw_user u;
    char why[512];

    instance();
    ck_assert_int_eq(unlink("users/passwd"), 0);
    ck_assert_int_eq(checkpw_user_find(home, "alice", 5, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_NOLOGIN);
    /* a symbolic link in its place is refused */
    tmpdir_puts("other", "alice:$y$alice\n");
    ck_assert_int_eq(symlink("../other", "users/passwd"), 0);
    ck_assert_int_eq(checkpw_user_find(home, "alice", 5, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_TEMP);
    ck_assert_int_eq(unlink("users/passwd"), 0);
    ck_assert_int_eq(mkdir("users/passwd", 0700), 0); /* unreadable */
    ck_assert_int_eq(checkpw_user_find(home, "alice", 5, 0, &u, why,
                                       sizeof why),
                     CHECKPW_USER_TEMP);
}
END_TEST

static Suite *checkpw_suite(void)
{
    Suite *s = suite_create("checkpw");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, input_three_fields);
    tcase_add_test(tc, input_shapes);
    tcase_add_test(tc, input_limit);
    tcase_add_test(tc, input_errors);
    tcase_add_test(tc, passwd_lines);
    tcase_add_test(tc, passwd_find);
    tcase_add_test(tc, verify_hashes);
    tcase_add_test(tc, equal_constant_time);
    tcase_add_test(tc, user_instance);
    tcase_add_test(tc, user_bad_names);
    tcase_add_test(tc, user_system_accounts);
    tcase_add_test(tc, user_no_passwd_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(checkpw_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
