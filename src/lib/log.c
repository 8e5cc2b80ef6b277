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

static void emit(const char *fmt, va_list ap, int with_errno, int saved)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n, start, i;
    int r;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof line - n, ".%03ldZ %s: ",
                 ts.tv_nsec / 1000000, progname);
    if (r > 0)
        n += (size_t)r;
    start = n;
    r = vsnprintf(line + n, sizeof line - n, fmt, ap);
    if (r > 0)
        n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
    if (with_errno) {
        r = snprintf(line + n, sizeof line - n, ": %s", strerror(saved));
        if (r > 0)
            n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
    }
    for (i = start; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 32 || c == 127)
            line[i] = '?';
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2;
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
