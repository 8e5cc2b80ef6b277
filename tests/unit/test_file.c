/* test_file.c: atomic writes, bounded reads, mkdir -p, exclusive opens. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "unit_tmpdir.h"

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    return st.st_mode;
}

START_TEST(write_atomic_then_read)
{
    dstr d = DSTR_ZERO;
    umask(022);
    ck_assert_int_eq(file_write_atomic("f", "hello\0world", 11, 0640), 0);
    ck_assert_int_eq(mode_of("f") & 07777, 0640);
    ck_assert_int_eq(dir_entries("."), 1); /* the temporary file is gone */
    ck_assert_int_eq(dstr_cats(&d, "old contents to be replaced"), 0);
    ck_assert_int_eq(file_read("f", &d, 100), 0);
    ck_assert_uint_eq(d.len, 11);
    ck_assert_mem_eq(d.s, "hello\0world", 11);
    /* replace */
    ck_assert_int_eq(file_write_atomic("f", "x", 1, 0600), 0);
    ck_assert_int_eq(file_read("f", &d, 100), 0);
    ck_assert(dstr_equals(&d, "x"));
    ck_assert_int_eq(mode_of("f") & 07777, 0600);
    /* empty */
    ck_assert_int_eq(file_write_atomic("f", "", 0, 0600), 0);
    ck_assert_int_eq(file_read("f", &d, 100), 0);
    ck_assert_uint_eq(d.len, 0);
    ck_assert_int_eq(dir_entries("."), 1);
    dstr_free(&d);
}
END_TEST

START_TEST(write_atomic_large)
{
    static char big[300000];
    dstr d = DSTR_ZERO;
    size_t i;
    for (i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 31);
    ck_assert_int_eq(file_write_atomic("sub.big", big, sizeof big, 0644), 0);
    ck_assert_int_eq(file_read("sub.big", &d, sizeof big), 0);
    ck_assert_uint_eq(d.len, sizeof big);
    ck_assert_mem_eq(d.s, big, sizeof big);
    dstr_free(&d);
}
END_TEST

/* Replacing a symlink replaces the link: its target is not written. */
START_TEST(write_atomic_over_symlink)
{
    dstr d = DSTR_ZERO;
    tmpdir_puts("target", "keep");
    ck_assert_int_eq(symlink("target", "link"), 0);
    ck_assert_int_eq(file_write_atomic("link", "new", 3, 0644), 0);
    ck_assert(S_ISREG(mode_of("link")));
    ck_assert_int_eq(file_read("target", &d, 100), 0);
    ck_assert(dstr_equals(&d, "keep"));
    ck_assert_int_eq(file_read("link", &d, 100), 0);
    ck_assert(dstr_equals(&d, "new"));
    dstr_free(&d);
}
END_TEST

START_TEST(write_atomic_errors)
{
    static char longname[5000];
    ck_assert_int_eq(file_write_atomic("nodir/f", "x", 1, 0644), -1);
    ck_assert_int_eq(errno, ENOENT);
    memset(longname, 'a', sizeof longname - 1);
    ck_assert_int_eq(file_write_atomic(longname, "x", 1, 0644), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);
    ck_assert_int_eq(mkdir("d", 0755), 0);
    tmpdir_puts("d/x", "x");
    ck_assert_int_eq(file_write_atomic("d", "x", 1, 0644), -1);
    ck_assert_int_eq(dir_entries("."), 1);
}
END_TEST

START_TEST(read_limits)
{
    dstr d = DSTR_ZERO;
    tmpdir_puts("f", "0123456789");
    ck_assert_int_eq(file_read("f", &d, 10), 0);
    ck_assert(dstr_equals(&d, "0123456789"));
    errno = 0;
    ck_assert_int_eq(file_read("f", &d, 9), -1);
    ck_assert_int_eq(errno, EFBIG);
    errno = 0;
    ck_assert_int_eq(file_read("f", &d, 0), -1);
    ck_assert_int_eq(errno, EFBIG);
    tmpdir_puts("empty", "");
    ck_assert_int_eq(file_read("empty", &d, 0), 0);
    ck_assert_uint_eq(d.len, 0);
    dstr_free(&d);
}
END_TEST

/* A huge file is refused after at most about max bytes, not read whole. */
START_TEST(read_big_sparse)
{
    dstr d = DSTR_ZERO;
    int fd = open("sparse", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(ftruncate(fd, (off_t)1 << 40), 0);
    close(fd);
    errno = 0;
    ck_assert_int_eq(file_read("sparse", &d, 100000), -1);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_uint_lt(d.cap, 1000000);
    dstr_free(&d);
}
END_TEST

START_TEST(read_errors)
{
    dstr d = DSTR_ZERO;
    errno = 0;
    ck_assert_int_eq(file_read("missing", &d, 100), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(mkdir("dir", 0755), 0);
    errno = 0;
    ck_assert_int_eq(file_read("dir", &d, 100), -1);
    ck_assert_int_eq(errno, EISDIR);
    ck_assert_int_eq(file_open_read("missing"), -1);
    dstr_free(&d);
}
END_TEST

START_TEST(mkdirs)
{
    umask(022);
    ck_assert_int_eq(file_mkdirs("a/b/c", 0750), 0);
    ck_assert(S_ISDIR(mode_of("a/b/c")));
    ck_assert_int_eq(mode_of("a/b") & 07777, 0750);
    ck_assert_int_eq(file_mkdirs("a/b/c", 0750), 0); /* again: fine */
    ck_assert_int_eq(file_mkdirs("a/b/d/", 0700), 0);
    ck_assert(S_ISDIR(mode_of("a/b/d")));
    ck_assert_int_eq(file_mkdirs("x//y", 0700), 0);
    ck_assert(S_ISDIR(mode_of("x/y")));
    ck_assert_int_eq(file_mkdirs(".", 0700), 0);
    {
        char cwd[PATH_MAX], abs[PATH_MAX + 16];
        ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
        snprintf(abs, sizeof abs, "%s/abs/q", cwd);
        ck_assert_int_eq(file_mkdirs(abs, 0700), 0);
        ck_assert(S_ISDIR(mode_of("abs/q")));
    }
}
END_TEST

START_TEST(mkdirs_errors)
{
    errno = 0;
    ck_assert_int_eq(file_mkdirs("", 0700), -1);
    ck_assert_int_eq(errno, ENOENT);
    tmpdir_puts("file", "x");
    /* a file in the middle of the path */
    errno = 0;
    ck_assert_int_eq(file_mkdirs("file/sub", 0700), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    /* a file where the directory should be is not "already there" */
    errno = 0;
    ck_assert_int_eq(file_mkdirs("file", 0700), -1);
    ck_assert_int_eq(errno, ENOTDIR);
}
END_TEST

START_TEST(open_excl)
{
    int fd;
    umask(022);
    fd = file_open_excl("new", 0600);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(write(fd, "x", 1), 1);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    close(fd);
    ck_assert_int_eq(mode_of("new") & 07777, 0600);
    /* existing file: refused, contents untouched */
    errno = 0;
    ck_assert_int_eq(file_open_excl("new", 0600), -1);
    ck_assert_int_eq(errno, EEXIST);
    ck_assert_int_eq(file_exists("new"), 1);
}
END_TEST

/* A symlink planted where the file will be made, dangling or not, is
 * refused and nothing is created at its target. */
START_TEST(open_excl_symlink)
{
    tmpdir_puts("victim", "keep");
    ck_assert_int_eq(symlink("victim", "link"), 0);
    ck_assert_int_eq(symlink("created-through-link", "dangling"), 0);
    errno = 0;
    ck_assert_int_eq(file_open_excl("link", 0644), -1);
    ck_assert_int_eq(errno, EEXIST);
    errno = 0;
    ck_assert_int_eq(file_open_excl("dangling", 0644), -1);
    ck_assert_int_eq(errno, EEXIST);
    ck_assert_int_eq(file_exists("created-through-link"), 0);
    ck_assert_int_eq(dir_entries("."), 3);
}
END_TEST

START_TEST(exists)
{
    tmpdir_puts("f", "");
    ck_assert_int_eq(file_exists("f"), 1);
    ck_assert_int_eq(file_exists("."), 1);
    ck_assert_int_eq(file_exists("nope"), 0);
    ck_assert_int_eq(file_exists("f/under-a-file"), 0);
    ck_assert_int_eq(symlink("nowhere", "dangling"), 0);
    ck_assert_int_eq(file_exists("dangling"), 1);
}
END_TEST

START_TEST(fsync_helpers)
{
    tmpdir_puts("f", "x");
    ck_assert_int_eq(file_fsync_parent("f"), 0);
    ck_assert_int_eq(file_fsync_parent("./f"), 0);
    ck_assert_int_eq(file_fsync_parent("/etc/passwd"), 0);
    ck_assert_int_eq(file_fsync_parent("/"), 0);
    ck_assert_int_eq(file_fsync_dir("."), 0);
    ck_assert_int_eq(file_fsync_dir("missing"), -1);
    ck_assert_int_eq(file_fsync_dir("f"), -1);
    ck_assert_int_eq(errno, ENOTDIR);
}
END_TEST

static Suite *file_suite(void)
{
    Suite *s = suite_create("file");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_add_test(tc, write_atomic_then_read);
    tcase_add_test(tc, write_atomic_large);
    tcase_add_test(tc, write_atomic_over_symlink);
    tcase_add_test(tc, write_atomic_errors);
    tcase_add_test(tc, read_limits);
    tcase_add_test(tc, read_big_sparse);
    tcase_add_test(tc, read_errors);
    tcase_add_test(tc, mkdirs);
    tcase_add_test(tc, mkdirs_errors);
    tcase_add_test(tc, open_excl);
    tcase_add_test(tc, open_excl_symlink);
    tcase_add_test(tc, exists);
    tcase_add_test(tc, fsync_helpers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(file_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
