// modules: src/queue
/* test_queue_write.c: qwrite(), the queue writer of qmail-queue and
 * qmail-queued: exit codes, the file it leaves, nothing left on failure. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"
#include "queue_write.h"
#include "unit_tmpdir.h"

/* a queue in the scratch directory, which becomes the working directory
 * qwrite() expects */
static void queue_setup(void)
{
    char rel[32];
    unsigned i;

    tmpdir_enter();
    ck_assert_int_eq(mkdir("tmp", 0700), 0);
    ck_assert_int_eq(mkdir("mess", 0700), 0);
    ck_assert_int_eq(mkdir("lock", 0700), 0);
    for (i = 0; i < QUEUE_BUCKETS; i++) {
        snprintf(rel, sizeof rel, "mess/%02u", i);
        ck_assert_int_eq(mkdir(rel, 0700), 0);
    }
    signal(SIGPIPE, SIG_IGN);
}

static int count_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int count_mess(void)
{
    char rel[32];
    unsigned i;
    int n = 0;

    for (i = 0; i < QUEUE_BUCKETS; i++) {
        snprintf(rel, sizeof rel, "mess/%02u", i);
        n += count_in(rel);
    }
    return n;
}

/* the one message file's path */
static void find_mess(char *out, size_t size)
{
    char rel[32];
    unsigned i;

    for (i = 0; i < QUEUE_BUCKETS; i++) {
        DIR *d;
        struct dirent *e;
        snprintf(rel, sizeof rel, "mess/%02u", i);
        d = opendir(rel);
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                ck_assert_int_lt(snprintf(out, size, "%s/%.200s", rel,
                                          e->d_name),
                                 (int)size);
                closedir(d);
                return;
            }
        closedir(d);
    }
    ck_abort_msg("no message file");
}

/* a pipe holding data, write end closed (or kept open: *keep) */
static int pipe_with(const void *data, size_t n, int *keep)
{
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], data, n), (ssize_t)n);
    if (keep)
        *keep = p[1];
    else
        close(p[1]);
    return p[0];
}

static int run(const char *msg, const void *env, size_t envlen, int timeout)
{
    qwrite_caller who = {"qmail-queue", 4242, 1000, 0, "test: "};
    int m = pipe_with(msg, strlen(msg), 0);
    int e = pipe_with(env, envlen, 0);
    int r;

    who.timeout = timeout;
    r = qwrite(m, e, &who);
    close(m);
    close(e);
    return r;
}

#define ENV(lit) lit, sizeof lit - 1

START_TEST(good_message)
{
    char path[512];
    queue_env env;
    int fd;
    char buf[256];
    ssize_t n;

    ck_assert_int_eq(run("Subject: x\n\nhi\n",
                         ENV("Fme@x.test\0Ta@y.test\0Tb@y.test\0\0"), 10),
                     QQ_OK);
    ck_assert_int_eq(count_mess(), 1);
    ck_assert_int_eq(count_in("tmp"), 0);
    find_mess(path, sizeof path);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    memset(&env, 0, sizeof env);
    ck_assert_int_eq(queue_env_read(fd, &env), 0);
    ck_assert_str_eq(env.sender, "me@x.test");
    ck_assert_uint_eq(env.nrcpts, 2);
    ck_assert_str_eq(env.rcpts[1].addr, "b@y.test");
    ck_assert_int_eq(lseek(fd, QUEUE_HDR_LEN, SEEK_SET), QUEUE_HDR_LEN);
    n = read(fd, buf, sizeof buf - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_msg(strncmp(buf, "Received: (qmail-queue 4242 invoked by uid "
                               "1000); ", 50) == 0, "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "\nSubject: x\n\nhi\n"));
    ck_assert_uint_eq(env.msglen, (uint64_t)(strstr(buf, "hi\n") + 3 - buf));
    queue_env_free(&env);
    close(fd);
}
END_TEST

START_TEST(bounce_sender_no_rcpts_is_fine)
{
    ck_assert_int_eq(run("x\n", ENV("F\0\0"), 0), QQ_OK);
    ck_assert_int_eq(count_mess(), 1);
}
END_TEST

START_TEST(refusals_leave_nothing)
{
    static const struct {
        const char *env;
        size_t len;
        int code;
    } cases[] = {
        {ENV(""), QQ_ENVELOPE},                       /* no envelope */
        {ENV("\0"), QQ_ENVELOPE},                     /* no sender */
        {ENV("Fa@b\0Ta@b"), QQ_ENVELOPE},             /* ends early */
        {ENV("Fa@b\0Ta@b\0"), QQ_ENVELOPE},           /* no final NUL */
        {ENV("Ta@b\0\0"), QQ_ENVELOPE},               /* not F first */
        {ENV("Fa@b\0Xa@b\0\0"), QQ_ENVELOPE},         /* not T */
        {ENV("Fa@b\0Ta\nb\0\0"), QQ_ENVELOPE},        /* control char */
        {ENV("Fa@b\0Ta@b\0\0junk"), QQ_ENVELOPE},     /* data after */
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(run("m\n", cases[i].env, cases[i].len, 5),
                         cases[i].code);
        ck_assert_int_eq(count_in("tmp"), 0);
        ck_assert_int_eq(count_mess(), 0);
    }
}
END_TEST

START_TEST(address_length_limit)
{
    static char env[1100];
    size_t n = 0;

    env[n++] = 'F';
    memset(env + n, 'a', QUEUE_ADDR_MAX);
    n += QUEUE_ADDR_MAX;
    env[n++] = 0;
    env[n++] = 0;
    ck_assert_int_eq(run("m\n", env, n, 5), QQ_OK); /* exactly the limit */
    n = 0;
    env[n++] = 'F';
    memset(env + n, 'a', QUEUE_ADDR_MAX + 1);
    n += QUEUE_ADDR_MAX + 1;
    env[n++] = 0;
    env[n++] = 0;
    ck_assert_int_eq(run("m\n", env, n, 5), QQ_ADDR_TOO_LONG);
    ck_assert_int_eq(count_in("tmp"), 0);
    ck_assert_int_eq(count_mess(), 1);
}
END_TEST

START_TEST(stalled_writer_times_out)
{
    qwrite_caller who = {"qmail-queued", 1, 2, 1, "test: "};
    int keep, m = pipe_with("half", 4, &keep);
    int e = pipe_with(ENV("Fa@b\0\0"), 0);

    ck_assert_int_eq(qwrite(m, e, &who), QQ_TIMEOUT);
    ck_assert_int_eq(count_in("tmp"), 0);
    ck_assert_int_eq(count_mess(), 0);
    close(keep);
    close(m);
    close(e);
}
END_TEST

START_TEST(envelope_read_stops_at_final_nul)
{
    /* qmail-queue does not wait for end of file on the envelope */
    qwrite_caller who = {"qmail-queue", 1, 2, 5, "test: "};
    int keep, m = pipe_with("m\n", 2, 0);
    int e = pipe_with(ENV("Fa@b\0Tc@d\0\0"), &keep);

    ck_assert_int_eq(qwrite(m, e, &who), QQ_OK);
    close(keep);
    close(m);
    close(e);
}
END_TEST

START_TEST(no_queue_dir)
{
    ck_assert_int_eq(rmdir("tmp"), 0);
    ck_assert_int_eq(run("m\n", ENV("Fa@b\0\0"), 5), QQ_QUEUE_INTD);
}
END_TEST

static Suite *qw_suite(void)
{
    Suite *s = suite_create("queue_write");
    TCase *t = tcase_create("qwrite");

    tcase_add_checked_fixture(t, queue_setup, tmpdir_leave);
    tcase_set_timeout(t, 20);
    tcase_add_test(t, good_message);
    tcase_add_test(t, bounce_sender_no_rcpts_is_fine);
    tcase_add_test(t, refusals_leave_nothing);
    tcase_add_test(t, address_length_limit);
    tcase_add_test(t, stalled_writer_times_out);
    tcase_add_test(t, envelope_read_stops_at_final_nul);
    tcase_add_test(t, no_queue_dir);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(qw_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
