/*
 * log: one line per event on stderr, with a timestamp and the program name:
 *
 *   2026-12-04T15:49:49.123Z qmail-send: delivery 12: success: ...
 *
 * Each line is written with one write(2), so lines from concurrent processes
 * sharing a log file do not interleave.  Bytes outside printable ASCII in
 * the message are shown as '?' so that a log line can never be split or
 * forged by data from the network.
 */
#ifndef LOG_H
#define LOG_H

void log_init(const char *progname);
const char *log_progname(void);
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_line followed by ": " strerror(errno). */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_line then exit(code). */
_Noreturn void log_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void log_die_errno(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
