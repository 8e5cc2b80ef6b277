/*
 * qmail-newu: compile $QMAILHOME/users/assign into users/cdb, atomically
 * (a new file fsynced, then renamed over the old one), so qmail-lspawn
 * and qmail-smtpd always see a whole table.  On any error the old
 * users/cdb stays in place.  Exits 0, or 111 with one line on stderr.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assign_parse.h"
#include "control.h"
#include "dstr.h"
#include "file.h"
#include "log.h"
#include "qhome.h"

#define ASSIGN_MAX (64 * 1024 * 1024)

static int add(void *arg, const char *key, size_t klen, const char *val,
               size_t vlen)
{
    struct cdb_make *cm = arg;
    if (klen > UINT_MAX || vlen > UINT_MAX) {
        errno = EINVAL;
        return -1;
    }
    return cdb_make_add(cm, key, (unsigned)klen, val, (unsigned)vlen) == 0
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    dstr text = DSTR_ZERO, err = DSTR_ZERO;
    struct cdb_make cm;
    int fd;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-newu");
    umask(022);
    if (qhome_chdir() == -1)
        log_die_errno(111, "fatal: unable to chdir to %s", qhome_dir());
    if (file_read("users/assign", &text, ASSIGN_MAX) == -1)
        log_die_errno(111, "fatal: unable to read users/assign");
    unlink("users/cdb.tmp");
    fd = open("users/cdb.tmp",
              O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd == -1)
        log_die_errno(111, "fatal: unable to create users/cdb.tmp");
    if (cdb_make_start(&cm, fd) != 0)
        goto fail_write;
    if (assign_parse(text.s, text.len, add, &cm, &err) == -1) {
        unlink("users/cdb.tmp");
        if (err.len)
            log_die(111, "fatal: users/assign %s", err.s);
        log_die_errno(111, "fatal: unable to build users/cdb");
    }
    if (cdb_make_finish(&cm) != 0 || fsync(fd) == -1 || close(fd) == -1)
        goto fail_write;
    if (rename("users/cdb.tmp", "users/cdb") == -1) {
        unlink("users/cdb.tmp");
        log_die_errno(111, "fatal: unable to move users/cdb.tmp to "
                           "users/cdb");
    }
    if (file_fsync_dir("users") == -1)
        log_die_errno(111, "fatal: unable to sync users/");
    return 0;
fail_write:
    unlink("users/cdb.tmp");
    log_die_errno(111, "fatal: unable to write users/cdb.tmp");
}
