/*
 * log.c: timestamped one-line log records on stderr.  See log.h.
 * Messages may contain data from the network: non-printable bytes are
 * replaced so a record is always exactly one line.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *progname = "qmail";

void log_init(const char *name)
{
    const char *slash = strrchr(name, '/');
    progname = slash ? slash + 1 : name;
}

const char *log_progname(void) { return progname; }

/* Add what snprintf reported to n, but never past the end of a buffer of
 * size cap (snprintf returns the length it wanted, not what it wrote). */
static size_t advance(size_t n, int r, size_t cap)
{
    if (r <= 0)
        return n;
    return (size_t)r < cap - n ? n + (size_t)r : cap - 1;
}

static void emit(const char *fmt, va_list ap, int with_errno, int saved)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n, start, i;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n = advance(n, snprintf(line + n, sizeof line - n, ".%03ldZ ",
                            ts.tv_nsec / 1000000), sizeof line);
    /* progname comes from argv[0]: sanitised along with the message */
    start = n;
    n = advance(n, snprintf(line + n, sizeof line - n, "%s: ", progname),
                sizeof line);
    n = advance(n, vsnprintf(line + n, sizeof line - n, fmt, ap), sizeof line);
    if (with_errno)
        n = advance(n, snprintf(line + n, sizeof line - n, ": %s",
                                strerror(saved)), sizeof line);
    for (i = start; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 32 || c >= 127)
            line[i] = '?';
    }
    if (n > sizeof line - 1)
        n = sizeof line - 1;
    line[n++] = '\n';
    while (write(2, line, n) == -1 && errno == EINTR)
        ;
}

void log_line(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;
    va_start(ap, fmt);
    emit(fmt, ap, 0, saved);
    va_end(ap);
    errno = saved;
}

void log_errno(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;
    va_start(ap, fmt);
    emit(fmt, ap, 1, saved);
    va_end(ap);
    errno = saved;
}

void log_die(int code, const char *fmt, ...)
{
    va_list ap;
    int saved = errno;
    va_start(ap, fmt);
    emit(fmt, ap, 0, saved);
    va_end(ap);
    _exit(code);
}

void log_die_errno(int code, const char *fmt, ...)
{
    va_list ap;
    int saved = errno;
    va_start(ap, fmt);
    emit(fmt, ap, 1, saved);
    va_end(ap);
    _exit(code);
}
