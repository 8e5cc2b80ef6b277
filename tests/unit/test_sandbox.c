/* Unit tests for src/lib/sandbox.c: each test enters a sandbox in a
 * forked child and reports what the child saw through its exit status. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

/* /proc/self/status, opened before the sandbox (Landlock hides /proc
 * afterwards); read again at each use, so it shows the current state */
static int status_fd = -1;

static void status_open(void)
{
    status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
}

/* The value of "Field:" in /proc/self/status, or -1. */
static long status_field(const char *field)
{
    static char buf[8192];
    size_t n = strlen(field);
    ssize_t len;
    char *line;

    if (status_fd == -1)
        return -1;
    len = pread(status_fd, buf, sizeof buf - 1, 0);
    if (len <= 0)
        return -1;
    buf[len] = 0;
    for (line = buf; line && *line; line = strchr(line, '\n'),
        line = line ? line + 1 : 0)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            return strtol(line + n + 1, 0, 16);
    return -1;
}

/* Run fn in a child; its wait status. */
static int in_child(int (*fn)(void))
{
    int status;
    pid_t pid = fork();

    ck_assert_int_ne(pid, -1);
    if (pid == 0)
        _exit(fn());
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static int enter_and_check(void)
{
    status_open();
    unsetenv("QMAIL_SANDBOX");
    if (sandbox_enter(&sandbox_pop3d, "/nonexistent", 0, 0) != 0)
        return 10;
    if (status_field("NoNewPrivs") != 1)
        return 11;
    if (status_field("Seccomp") != 2)
        return 12;
    if (status_field("CapEff") != 0 && getuid() != 0)
        return 13;
    /* allowed: ordinary I/O */
    if (write(2, "", 0) != 0)
        return 14;
    return 0;
}

START_TEST(sandbox_sets_nnp_seccomp_and_caps)
{
    int st = in_child(enter_and_check);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}
END_TEST

static int forbidden_socket(void)
{
    unsetenv("QMAIL_SANDBOX");
    if (sandbox_enter(&sandbox_pop3d, "/nonexistent", 0, 0) != 0)
        return 10;
    (void)socket(AF_INET, SOCK_STREAM, 0); /* not in the profile */
    return 0;
}

START_TEST(sandbox_forbidden_call_kills_with_sigsys)
{
    int st = in_child(forbidden_socket);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %d",
                  st);
}
END_TEST

static int fork_in_popup(void)
{
    unsetenv("QMAIL_SANDBOX");
    if (sandbox_enter(&sandbox_popup, "/nonexistent", 0, 0) != 0)
        return 10;
    if (fork() == 0)
        _exit(0);
    return 0;
}

START_TEST(sandbox_popup_cannot_fork)
{
    int st = in_child(fork_in_popup);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %d",
                  st);
}
END_TEST

static int threads_not_processes(void)
{
    unsetenv("QMAIL_SANDBOX");
    if (sandbox_enter(&sandbox_remote, "/nonexistent", 0, 0) != 0)
        return 10;
    /* clone3 says it does not exist (glibc then uses clone) */
    if (syscall(SYS_clone3, 0, 0) != -1 || errno != ENOSYS)
        return 11;
    if (fork() == 0) /* a process: killed */
        _exit(0);
    return 0;
}

START_TEST(sandbox_remote_threads_only)
{
    int st = in_child(threads_not_processes);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %d",
                  st);
}
END_TEST

static int switched_off(void)
{
    status_open();
    setenv("QMAIL_SANDBOX", "off", 1);
    if (sandbox_enter(&sandbox_popup, "/nonexistent", 0, 0) != 1)
        return 10;
    if (status_field("Seccomp") != 0)
        return 11;
    return 0;
}

START_TEST(sandbox_switch_off)
{
    int st = in_child(switched_off);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}
END_TEST

static int landlock_blocks(void)
{
    int fd;
    unsetenv("QMAIL_SANDBOX");
    if (sandbox_landlock_abi() < 2)
        return 0; /* nothing to test */
    if (sandbox_enter(&sandbox_popup, "/nonexistent", 0, 0) != 0)
        return 10;
    fd = open("/etc/passwd", O_RDONLY); /* a system file: allowed */
    if (fd == -1)
        return 11;
    close(fd);
    fd = open("/proc/self/status", O_RDONLY); /* not in the profile */
    if (fd != -1 || errno != EACCES)
        return 12;
    return 0;
}

START_TEST(sandbox_landlock_limits_paths)
{
    int st = in_child(landlock_blocks);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}
END_TEST

static Suite *sandbox_suite(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sandbox_sets_nnp_seccomp_and_caps);
    tcase_add_test(tc, sandbox_forbidden_call_kills_with_sigsys);
    tcase_add_test(tc, sandbox_popup_cannot_fork);
    tcase_add_test(tc, sandbox_remote_threads_only);
    tcase_add_test(tc, sandbox_switch_off);
    tcase_add_test(tc, sandbox_landlock_limits_paths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sandbox_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
