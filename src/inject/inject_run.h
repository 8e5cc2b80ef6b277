/*
 * inject_run: one local submission, shared by qmail-inject and sendmail.
 *
 * Reads the message on fd 0, fixes its header, works out sender and
 * recipients, and hands message and envelope to qmail-queue (or prints
 * the message with print_only).  Exits through log_die with 100
 * (permanent: bad usage, bad address, no recipients, qmail-queue 11..40)
 * or 111 (temporary: memory, I/O, control files, other qmail-queue codes);
 * returns 0 on success.
 *
 * Callers: the mains in qmail-inject.c and sendmail.c, after option
 * parsing and log_init().
 */
#ifndef INJECT_RUN_H
#define INJECT_RUN_H

#include <stddef.h>

#define INJECT_HEADER_MAX (1024 * 1024)  /* bytes of header kept in memory */

enum inject_rcpt_mode {
    INJECT_RCPT_AUTO,    /* arguments if any, else the header (-A) */
    INJECT_RCPT_ARGS,    /* arguments only (-a) */
    INJECT_RCPT_HEADER,  /* header only (-h) */
    INJECT_RCPT_BOTH     /* header and arguments (-H, sendmail -t) */
};

typedef struct inject_opts {
    enum inject_rcpt_mode rcpt_mode;
    int print_only;         /* -n: write the message on stdout */
    int dot_ends;           /* a "." line ends the message (sendmail) */
    int use_return_path;    /* an incoming Return-Path sets the sender */
    const char *sender;     /* -f, or NULL */
    const char *fullname;   /* -F, or NULL */
    char **args;            /* recipient arguments */
    size_t nargs;
} inject_opts;

int inject_run(const inject_opts *o);

#endif
