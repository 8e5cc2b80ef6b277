/*
 * qmail-clean: the only process that changes or removes queued messages,
 * on qmail-send's request.  In a root install it runs as qmailq, the owner
 * of the queue files, so qmail-send itself needs no write access to them.
 *
 * Requests arrive on fd 0, one NUL-terminated record each; each gets one
 * reply byte on fd 1: '+' done, '-' refused or failed (logged here).
 *
 *   R<id>                      remove queue/mess/NN/<id> (moved, emptied,
 *                              to queue/free/ for reuse while that holds
 *                              fewer than FREE_CAP files)
 *   D<id> <offset>             mark the recipient record at offset done
 *                              (its tag byte must be 'T' or 'B')
 *   B<id> <offset> <n> <text>  append "X<n> <text>" to the envelope, then
 *                              mark the record at offset failed ('B'; the
 *                              tag must be 'T')
 *   t<name>                    remove queue/tmp/<name> if no live writer
 *                              holds its lock and it is over a minute old
 *
 * Trust: requests come from qmail-send, but are still checked: ids must
 * look like ids, offsets must point at a record tag inside the envelope.
 * Exits 0 at end of input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "dstr.h"
#include "log.h"
#include "num.h"
#include "qhome.h"
#include "queue.h"

#define CLEAN_REQ_MAX 2048

static dstr path = DSTR_ZERO;

/* Open the message for id; -1 on error (logged). */
static int open_mess(const char *id, int flags)
{
    int fd;

    if (!queue_id_valid(id)) {
        log_line("warning: refusing bad message id");
        return -1;
    }
    if (queue_mess_path(&path, id) == -1)
        return -1;
    fd = open(path.s, flags | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1)
        log_errno("warning: unable to open %s", path.s);
    return fd;
}

/* Parse "<id> <num>[ rest]": splits req in place. */
static int split_num(char *req, char **rest, unsigned long long *num)
{
    char *sp = strchr(req, ' ');
    size_t d;

    if (!sp)
        return -1;
    *sp = 0;
    d = num_scan_prefix(sp + 1, strlen(sp + 1), num);
    if (d == 0)
        return -1;
    if (sp[1 + d] == ' ')
        *rest = sp + 2 + d;
    else if (sp[1 + d] == 0)
        *rest = sp + 1 + d;
    else
        return -1;
    return 0;
}

/* Check that off is a recipient record's tag inside the envelope. */
static int check_tag(int fd, unsigned long long off, const char *allowed)
{
    char hdr[QUEUE_HDR_LEN];
    uint64_t msglen, birth;
    char tag;

    if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
        queue_hdr_parse(hdr, sizeof hdr, &msglen, &birth) == -1)
        return -1;
    if (off <= QUEUE_HDR_LEN + msglen)
        return -1; /* the first envelope record is F, never a recipient */
    if (pread(fd, &tag, 1, (off_t)off) != 1 || !strchr(allowed, tag))
        return -1;
    /* the record must start after a NUL */
    if (pread(fd, hdr, 1, (off_t)off - 1) != 1 || hdr[0] != 0)
        return -1;
    return 0;
}

static int do_mark(char *req, char newtag)
{
    unsigned long long off, n;
    char *rest;
    int fd, ok = -1;

    if (split_num(req, &rest, &off) == -1)
        return -1;
    fd = open_mess(req, O_RDWR);
    if (fd == -1)
        return -1;
    if (check_tag(fd, off, newtag == 'D' ? "TB" : "T") == -1) {
        log_line("warning: bad recipient offset %llu in %s", off, req);
        goto out;
    }
    if (newtag == 'B') {
        dstr rec = DSTR_ZERO;
        char *text;
        size_t d = num_scan_prefix(rest, strlen(rest), &n);

        if (d == 0 || (rest[d] != ' ' && rest[d] != 0))
            goto out;
        text = rest[d] ? rest + d + 1 : rest + d;
        if (dstr_catf(&rec, "X%llu %s", n, text) == -1 ||
            dstr_catc(&rec, 0) == -1) {
            dstr_free(&rec);
            goto out;
        }
        {
            off_t end = lseek(fd, 0, SEEK_END);
            if (end == -1 || pwrite(fd, rec.s, rec.len, end) !=
                                 (ssize_t)rec.len) {
                log_errno("warning: unable to append to %s", path.s);
                /* never leave half a record behind (disk full) */
                if (end != -1 && ftruncate(fd, end) == -1)
                    log_errno("warning: unable to truncate %s", path.s);
                dstr_free(&rec);
                goto out;
            }
        }
        dstr_free(&rec);
    }
    if (pwrite(fd, &newtag, 1, (off_t)off) != 1) {
        log_errno("warning: unable to mark %s", path.s);
        goto out;
    }
    ok = 0;
out:
    close(fd);
    return ok;
}

/*
 * Finished files go to free/ (up to FREE_CAP of them) instead of being
 * unlinked: the queue writer claims one by renaming it into tmp/, so a
 * message costs neither a delete nor an inode allocation (ext4's
 * allocator slows down the more inodes were freed lately).  The count is
 * approximate: taken at start and every FREE_RECOUNT removals, since
 * writers take files out behind our back.
 */
#define FREE_CAP 1000
#define FREE_RECOUNT 256

static long free_count = -1; /* -1: count at the next removal */
static unsigned free_removals;
static dstr freepath = DSTR_ZERO;

static long count_free(void)
{
    DIR *d = opendir("free");
    struct dirent *e;
    long n = 0;

    if (!d)
        return FREE_CAP; /* no free/ (an old instance): never recycle */
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Move the finished file at path (mess/NN/id) to free/id, emptied.  0 if
 * it is there; -1 if the caller should unlink it as before. */
static int recycle(const char *id)
{
    struct stat st;
    int fd;

    if (free_count < 0 || ++free_removals >= FREE_RECOUNT) {
        free_count = count_free();
        free_removals = 0;
    }
    if (free_count >= FREE_CAP)
        return -1;
    freepath.len = 0;
    if (dstr_cats(&freepath, "free/") == -1 ||
        dstr_cats(&freepath, id) == -1 || dstr_cat0(&freepath) == -1)
        return -1;
    /* O_NONBLOCK: a FIFO put there would not hang us */
    fd = open(path.s, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1)
        return -1;
    /* st_size > 0: writers claim only empty files, so between our rename
     * and our truncate none may take this one; an empty file here (not a
     * message) could be claimed and then emptied under its new writer */
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        st.st_uid != geteuid() || st.st_size <= 0) {
        close(fd);
        return -1;
    }
    /* Rename first, then empty it: a crash in between leaves a full file
     * in free/, which writers refuse (and remove), never an empty one in
     * mess/.  Nothing but us renames or removes files in mess/. */
    if (renameat2(AT_FDCWD, path.s, AT_FDCWD, freepath.s,
                  RENAME_NOREPLACE) == -1) {
        close(fd);
        return -1;
    }
    if (ftruncate(fd, 0) == -1) {
        log_errno("warning: unable to empty %s", freepath.s);
        unlink(freepath.s);
    } else {
        free_count++;
    }
    close(fd);
    return 0;
}

static int do_remove(const char *id)
{
    if (!queue_id_valid(id) || queue_mess_path(&path, id) == -1)
        return -1;
    if (recycle(id) == 0)
        return 0;
    if (unlink(path.s) == -1 && errno != ENOENT) {
        log_errno("warning: unable to remove %s", path.s);
        return -1;
    }
    return 0;
}

static int do_tmp(const char *name)
{
    struct stat st;
    int fd, r = -1;

    if (!queue_id_valid(name))
        return -1;
    path.len = 0;
    if (dstr_cats(&path, "tmp/") == -1 || dstr_cats(&path, name) == -1 ||
        dstr_cat0(&path) == -1)
        return -1;
    fd = open(path.s, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) == 0 && time(0) - st.st_mtime > 60 &&
        flock(fd, LOCK_EX | LOCK_NB) == 0) {
        if (unlink(path.s) == 0) {
            log_line("removed debris %s", path.s);
            r = 0;
        }
    }
    close(fd);
    return r;
}

int main(int argc, char **argv)
{
    char inbuf[4096];
    bio in;
    dstr req = DSTR_ZERO;

    (void)argc;
    log_init(argv[0] ? argv[0] : "qmail-clean");
    signal(SIGPIPE, SIG_IGN);
    if (qhome_chdir() == -1 || chdir("queue") == -1)
        log_die_errno(111, "fatal: unable to chdir to %s/queue", qhome_dir());
    bio_init(&in, 0, inbuf, sizeof inbuf, 0);
    for (;;) {
        int toolong = 0, r;
        char reply;

        req.len = 0;
        r = bio_getsep(&in, &req, 0, CLEAN_REQ_MAX, &toolong);
        if (r == 0)
            _exit(0);
        if (r == -1)
            log_die_errno(111, "fatal: read request");
        if (toolong || req.len < 2 || req.s[req.len - 1] != 0) {
            r = -1;
        } else {
            switch (req.s[0]) {
            case 'R': r = do_remove(req.s + 1); break;
            case 'D': r = do_mark(req.s + 1, 'D'); break;
            case 'B': r = do_mark(req.s + 1, 'B'); break;
            case 't': r = do_tmp(req.s + 1); break;
            default: r = -1;
            }
        }
        reply = r == 0 ? '+' : '-';
        if (fd_write_all(1, &reply, 1, 0) == -1)
            _exit(0);
    }
}
