// fuzz-sources: src/smtpd/smtpd_*.c src/lib/*.c src/mail/*.c -lcdb
// fuzz-dict: tests/fuzz/smtpd.dict
// fuzz-flags: -close_fd_mask=3
/*
 * libFuzzer harness: a whole qmail-smtpd session.  The input is what a
 * client sends (fd 0 is a memfd holding it); replies go to /dev/null.
 * The instance is a scratch directory with rcpthosts, locals, a user
 * "alice", maxerrors high and databytes small; qmail-queue is /bin/true
 * (it reads nothing, so DATA exercises the write-error path too).  Every
 * command, state and parser of the server is reachable.  Checks: no
 * crash, no sanitizer report, no leak across sessions.  Run with
 * `make fuzz` (stdout and stderr are closed: the session logs a lot).
 */

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mailuser.h"
#include "sig.h"
#include "smtpd_conf.h"
#include "smtpd_io.h"
#include "smtpd_session.h"

static smtpd_io io;
static smtpd_session session;
static smtpd_conf conf;
static int devnull = -1;
static int home_fd = -1;  /* the scratch instance */
static int start_fd = -1; /* where libFuzzer runs: its paths are relative */

static char dir[] = "/tmp/fuzz_smtpd_session.XXXXXX";

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path); /* best effort */
    return 0;
}

/* libFuzzer ends with exit(): remove the scratch instance then */
static void cleanup(void) { nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS); }

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    dstr err = DSTR_ZERO;

    start_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (start_fd == -1 || !mkdtemp(dir) || atexit(cleanup) != 0 ||
        chdir(dir) == -1 ||
        mkdir("control", 0755) == -1 ||
        mkdir("mail", 0755) == -1 || mkdir("mail/alice", 0755) == -1)
        abort();
    put("control/me", "mx.fuzz.test\n");
    put("control/rcpthosts", "fuzz.test\n.sub.fuzz.test\nlocalhost\n");
    put("control/locals", "fuzz.test\nlocalhost\n");
    put("control/badmailfrom", "bad@fuzz.test\n@evil.test\n");
    put("control/databytes", "4000\n");
    put("control/maxerrors", "1000000\n");
    put("control/maxrcpt", "50\n");
    put("control/greetdelay", "0\n");
    put("control/timeoutsmtpd", "5\n");
    setenv("QMAILQUEUE", "/bin/true", 1);
    setenv("TCPREMOTEIP", "192.0.2.1", 1);
    setenv("TCPLOCALIP", "127.0.0.1", 1);
    unsetenv("RELAYCLIENT");
    unsetenv("DATABYTES");
    unsetenv("GREETDELAY");
    log_init("qmail-smtpd");
    sig_ignore(SIGPIPE);
    if (smtpd_conf_load(&conf, &err) == -1 || mailuser_init(0) == -1)
        abort();
    dstr_free(&err);
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (devnull == -1 || home_fd == -1 || fchdir(start_fd) == -1)
        abort();
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("smtp-input", MFD_CLOEXEC);
    size_t off = 0;

    if (fd == -1)
        abort();
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || fchdir(home_fd) == -1)
        abort();
    smtpd_io_init(&io, fd, devnull, conf.timeout, 0);
    smtpd_session_init(&session, &conf, &io);
    smtpd_session_run(&session);
    smtpd_session_free(&session);
    close(fd);
    if (fchdir(start_fd) == -1)
        abort();
    return 0;
}
