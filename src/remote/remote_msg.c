/* remote_msg.c: the message to send.  See remote_msg.h. */
#include "remote_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bio.h"
#include "remote_enc.h"

#define CHUNK 65536

long remote_msg_read(const remote_msg *m, uint64_t off, char *buf, size_t n)
{
    ssize_t r;

    if (off >= m->len)
        return 0;
    if (n > m->len - off)
        n = (size_t)(m->len - off);
    do
        r = pread(m->fd, buf, n, m->base + (off_t)off);
    while (r == -1 && errno == EINTR);
    if (r == 0) {
        errno = EPROTO; /* the file shrank under us */
        return -1;
    }
    return (long)r;
}

/* Copy fd into a new memory file. */
static int spool(int fd, int timeout, remote_msg *m)
{
    char *buf = malloc(CHUNK);
    int mfd;
    uint64_t len = 0;

    if (!buf)
        return -1;
    mfd = memfd_create("qmail-remote", MFD_CLOEXEC);
    if (mfd == -1) {
        free(buf);
        return -1;
    }
    for (;;) {
        long r = fd_read_timeout(fd, buf, CHUNK, timeout);
        if (r == 0)
            break;
        if (r < 0 || fd_write_all(mfd, buf, (size_t)r, 0) == -1) {
            int saved = errno;
            free(buf);
            close(mfd);
            errno = saved;
            return -1;
        }
        len += (uint64_t)r;
    }
    free(buf);
    m->fd = mfd;
    m->base = 0;
    m->len = len;
    return 0;
}

int remote_msg_open(int fd, int timeout, remote_msg *m)
{
    struct stat st;
    off_t here;
    remote_enc enc;
    char *in, *out;
    uint64_t off = 0;

    if (fstat(fd, &st) == -1)
        return -1;
    here = S_ISREG(st.st_mode) ? lseek(fd, 0, SEEK_CUR) : -1;
    if (here != -1 && here <= st.st_size) {
        m->fd = fd;
        m->base = here;
        m->len = (uint64_t)(st.st_size - here);
    } else if (spool(fd, timeout, m) == -1) {
        return -1;
    }
    in = malloc(CHUNK);
    out = malloc(REMOTE_ENC_ROOM(CHUNK));
    if (!in || !out) {
        free(in);
        free(out);
        return -1;
    }
    remote_enc_init(&enc);
    while (off < m->len) {
        long r = remote_msg_read(m, off, in, CHUNK);
        if (r <= 0) {
            free(in);
            free(out);
            return -1;
        }
        remote_enc_feed(&enc, in, (size_t)r, out);
        off += (uint64_t)r;
    }
    remote_enc_finish(&enc, out);
    m->size = remote_enc_size(&enc);
    m->eightbit = enc.eightbit;
    free(in);
    free(out);
    return 0;
}
