/* msgcopy.c: sealed copies of queued messages.  See msgcopy.h. */
#include "msgcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "dstr.h"
#include "log.h"
#include "queue.h"

int msgcopy_open(const char *path, uint64_t *msglen)
{
    char hdr[QUEUE_HDR_LEN];
    uint64_t birth, left;
    off_t off = QUEUE_HDR_LEN;
    int fd, mfd = -1, saved;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1)
        return -1;
    if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
        queue_hdr_parse(hdr, sizeof hdr, msglen, &birth) == -1) {
        errno = EINVAL;
        goto fail;
    }
    mfd = memfd_create("qmail-message", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    if (mfd == -1)
        goto fail;
    for (left = *msglen; left > 0;) {
        ssize_t n = sendfile(mfd, fd, &off,
                             left > 0x40000000 ? 0x40000000 : (size_t)left);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EPROTO;
            goto fail;
        }
        left -= (uint64_t)n;
    }
    if (lseek(mfd, 0, SEEK_SET) == -1 ||
        fcntl(mfd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == -1)
        goto fail;
    close(fd);
    return mfd;
fail:
    saved = errno;
    close(fd);
    if (mfd != -1)
        close(mfd);
    errno = saved;
    return -1;
}

int msgcopy_stdin(const char *id, uint64_t *msglen)
{
    dstr path = DSTR_ZERO;
    int fd;

    if (!queue_id_valid(id) || queue_mess_path(&path, id) == -1) {
        log_line("bad message id");
        dstr_free(&path);
        return -1;
    }
    fd = msgcopy_open(path.s, msglen);
    if (fd == -1) {
        log_errno("unable to read queued message %s", path.s);
        dstr_free(&path);
        return -1;
    }
    dstr_free(&path);
    if (fd != 0) {
        if (dup2(fd, 0) == -1) {
            log_errno("unable to put the message on fd 0");
            close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}
