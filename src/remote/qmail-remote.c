/*
 * qmail-remote: deliver one message over SMTP to recipients at one
 * remote domain.
 *
 *   qmail-remote host sender recipient [recipient ...]
 *
 * Run by qmail-rspawn in $QMAILHOME, with the message on fd 0 (lines end
 * in LF, as queued; a file or a pipe).  host is the recipients' domain.
 * Prints on fd 1 one record per recipient, then one for the message
 * (remote_out.h; qmail-remote(8)), and exits 0.  Exits 111 without
 * printing anything when it cannot start (home, control files, reading
 * the message, memory): everything is then a temporary failure.  Exits
 * 100 on a usage error.
 *
 * Trust: runs as qmailr, holds nothing else.  The remote server and the
 * DNS are untrusted (see the modules); the arguments come from the queue
 * and are checked before they reach the wire.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "dstr.h"
#include "log.h"
#include "qhome.h"
#include "remote_conf.h"
#include "remote_deliver.h"
#include "remote_msg.h"
#include "remote_mx.h"
#include "remote_out.h"
#include "remote_path.h"
#include "sandbox.h"
#include "sig.h"

static _Noreturn void die_temp(const char *what, const char *detail)
{
    if (detail)
        log_line("%s: %s", what, detail);
    else
        log_errno("%s", what);
    exit(111);
}

static void nomem(void) { die_temp("out of memory", 0); }

/* The domain as it is matched and looked up: lower case, without one
 * final dot.  1 if it is a host name or an address literal. */
static int clean_domain(const char *arg, dstr *out)
{
    size_t len = strlen(arg);

    if (len && arg[len - 1] == '.' && arg[0] != '[')
        len--;
    if (dstr_copyb(out, arg, len) == -1 || dstr_cat0(out) == -1)
        nomem();
    dstr_lower(out);
    if (len > 2 && out->s[0] == '[' && out->s[len - 1] == ']')
        return remote_path_ok(out->s) && !memchr(out->s, ' ', len);
    return remote_name_valid(out->s, len);
}

static void set_text(remote_outcome *o, char status, const char *a,
                     const char *b, const char *c)
{
    o->status = status;
    o->text.len = 0;
    if (remote_out_texts(&o->text, a) == -1 ||
        (b && remote_out_texts(&o->text, b) == -1) ||
        (c && remote_out_texts(&o->text, c) == -1))
        nomem();
}

int main(int argc, char **argv)
{
    remote_conf conf;
    remote_msg msg;
    remote_job job;
    remote_outcome *out, final;
    dstr domain = DSTR_ZERO, err = DSTR_ZERO, records = DSTR_ZERO;
    size_t n, i;
    int domain_ok;

    log_init("qmail-remote");
    if (argc < 4) {
        log_line("usage: qmail-remote host sender recipient [recipient ...]");
        return 100;
    }
    sig_ignore(SIGPIPE);
    if (qhome_chdir() == -1)
        die_temp("cannot enter the home directory", 0);
    memset(&conf, 0, sizeof conf);
    if (remote_conf_read(&conf, &err) == -1) {
        if (dstr_cat0(&err) == -1)
            nomem();
        die_temp("cannot read the control files", err.s);
    }
    if (remote_msg_open(0, conf.timeoutremote, &msg) == -1)
        die_temp("cannot read the message", 0);
    if (sandbox_enter(&sandbox_remote, qhome_dir(), 0, 0) == -1)
        die_temp("cannot enter the sandbox", "see the log");

    n = (size_t)argc - 3;
    out = calloc(n, sizeof *out);
    if (!out)
        nomem();
    memset(&final, 0, sizeof final);
    domain_ok = clean_domain(argv[1], &domain);
    for (i = 0; i < n; i++) {
        const char *rcpt = argv[3 + i];
        if (!domain_ok)
            set_text(&out[i], 'D', "Sorry, ", domain.s,
                     " is not a valid domain name. (#5.1.2)");
        else if (!remote_path_ok(argv[2]))
            set_text(&out[i], 'D',
                     "Sorry, the sender address is not valid. (#5.1.7)", 0,
                     0);
        else if (!remote_path_ok(rcpt) || !*rcpt)
            set_text(&out[i], 'D',
                     "Sorry, the recipient address is not valid. (#5.1.3)", 0,
                     0);
    }

    memset(&job, 0, sizeof job);
    job.sender = argv[2];
    job.rcpts = argv + 3;
    job.out = out;
    job.nrcpts = n;
    job.msg = &msg;
    if (remote_deliver(domain.s, &conf, &job, &final) == -1)
        nomem();
    if (remote_out_records(&records, out, n, &final) == -1)
        nomem();
    if (fd_write_all(1, records.s, records.len, 0) == -1)
        die_temp("cannot write the results", 0);
    for (i = 0; i < n; i++)
        dstr_free(&out[i].text);
    free(out);
    dstr_free(&final.text);
    dstr_free(&records);
    dstr_free(&domain);
    dstr_free(&err);
    remote_conf_free(&conf);
    if (msg.fd != 0)
        close(msg.fd);
    return 0;
}
