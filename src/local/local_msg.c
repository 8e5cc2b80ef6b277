/*
 * local_msg.c: bounded reading of the queued message.  See local_msg.h.
 * The message is mail from anyone: header lines can be of any length, so
 * the Delivered-To scan looks only at the first bytes of each line.
 */
#include "local_msg.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int msg_fd = -1;
static off_t msg_start;
static uint64_t msg_len, msg_pos;

int local_msg_init(int fd, uint64_t len)
{
    msg_fd = fd;
    msg_len = len;
    msg_pos = 0;
    msg_start = lseek(fd, 0, SEEK_CUR);
    return msg_start == -1 ? -1 : 0;
}

uint64_t local_msg_len(void) { return msg_len; }

int local_msg_fd_rewind(void)
{
    return lseek(msg_fd, msg_start, SEEK_SET) == -1 ? -1 : 0;
}

int local_msg_rewind(void)
{
    msg_pos = 0;
    return 0;
}

long local_msg_read(char *buf, size_t n)
{
    ssize_t r;

    if (msg_pos >= msg_len)
        return 0;
    if (n > msg_len - msg_pos)
        n = (size_t)(msg_len - msg_pos);
    do
        r = pread(msg_fd, buf, n, msg_start + (off_t)msg_pos);
    while (r == -1 && errno == EINTR);
    if (r == -1)
        return -1;
    if (r == 0) {
        errno = EPROTO;
        return -1;
    }
    msg_pos += (uint64_t)r;
    return (long)r;
}

/* Does line (without its newline) say "Delivered-To: dt"? */
static int is_dtline(const char *line, size_t len, const char *dt)
{
    size_t dlen = strlen(dt);

    if (len < 13 || strncasecmp(line, "delivered-to:", 13) != 0)
        return 0;
    line += 13;
    len -= 13;
    while (len && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
                   line[len - 1] == '\r'))
        len--;
    return len == dlen && strncasecmp(line, dt, dlen) == 0;
}

int local_msg_has_dtline(const char *dt)
{
    char buf[8192], line[1100];
    size_t llen = 0;
    int found = 0, atstart = 1;
    long r;

    local_msg_rewind();
    while (!found && (r = local_msg_read(buf, sizeof buf)) > 0) {
        long i;
        for (i = 0; i < r; i++) {
            char c = buf[i];
            if (c == '\n') {
                if (atstart) /* empty line: end of header */
                    goto done;
                if (is_dtline(line, llen, dt)) {
                    found = 1;
                    break;
                }
                llen = 0;
                atstart = 1;
                continue;
            }
            if (atstart && c == '\r' && i + 1 < r && buf[i + 1] == '\n')
                continue; /* CRLF empty line */
            atstart = 0;
            if (llen < sizeof line)
                line[llen++] = c;
        }
    }
    if (r == -1)
        return -1;
done:
    local_msg_rewind();
    return found;
}
