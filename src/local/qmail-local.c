/*
 * qmail-local: deliver one message to one local recipient, as that user.
 *
 *   qmail-local -l LEN -- user home local dash ext domain sender default
 *
 * The message is LEN bytes on fd 0 from its current offset (a sealed copy
 * made by qmail-lspawn, holding nothing of the envelope).  qmail-lspawn
 * starts it in home, which must belong to the user running it.  The recipient is local@domain, where local is
 * user, dash and ext together.  default is the delivery instruction used
 * when the user has no .qmail file: a Maildir ("./Maildir/", ends in '/')
 * or an mbox ("./Mailbox", starts with '.' or '/'), relative to home.
 *
 * Writes one line saying what happened on stdout and exits 0 (delivered),
 * 100 (permanent failure: bounce) or 111 (temporary failure: retry), as
 * qmail's qmail-local does.
 *
 * Trust: runs as the recipient; the message is from anyone and is copied,
 * not interpreted, except for the Delivered-To loop check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dstr.h"
#include "local_deliver.h"
#include "local_msg.h"
#include "log.h"
#include "num.h"

static _Noreturn void done(int code, const char *fmt, const char *a,
                           const char *b)
{
    char line[1200];
    int n = snprintf(line, sizeof line, fmt, a ? a : "", b ? b : "");
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(1, line, (size_t)n) == -1) {
        /* qmail-lspawn is gone; the exit code still tells */
    }
    _exit(code);
}

static void usage(void)
{
    done(111, "qmail-local: usage: qmail-local -l LEN -- user home local "
              "dash ext domain sender defaultdelivery%s%s",
         0, 0);
}

int main(int argc, char **argv)
{
    unsigned long long len;
    const char *user, *home, *local, *dash, *ext, *domain, *sender, *dflt;
    dstr dt = DSTR_ZERO, prefix = DSTR_ZERO;
    char why[1024];
    size_t dlen;
    int perm, r;

    log_init("qmail-local");
    if (argc != 12 || strcmp(argv[1], "-l") != 0 ||
        num_scan_ulong_str(argv[2], &len) == -1 || strcmp(argv[3], "--"))
        usage();
    user = argv[4];
    home = argv[5];
    local = argv[6];
    dash = argv[7];
    ext = argv[8];
    domain = argv[9];
    sender = argv[10];
    dflt = argv[11];
    (void)user;
    (void)dash;
    (void)ext;

    /* qmail-lspawn started us in the home directory (it may sit below
     * directories we cannot traverse ourselves); make sure it is ours */
    {
        struct stat st;
        if (stat(".", &st) == -1)
            done(111, "unable to look at home directory %s: %s (#4.3.0)",
                 home, strerror(errno));
        if (st.st_uid != getuid())
            done(111, "home directory %s is not owned by the user (#4.3.0)",
                 home, 0);
    }
    if (local_msg_init(0, len) == -1)
        done(111, "unable to read the queued message: %s (#4.3.0)",
             strerror(errno), 0);

    if (dstr_cats(&dt, local) == -1 || dstr_catc(&dt, '@') == -1 ||
        dstr_cats(&dt, domain) == -1 || dstr_cat0(&dt) == -1)
        done(111, "out of memory (#4.3.0)", 0, 0);
    r = local_msg_has_dtline(dt.s);
    if (r == -1)
        done(111, "unable to read the queued message: %s (#4.3.0)",
             strerror(errno), 0);
    if (r == 1)
        done(100, "message is looping: it already has Delivered-To: %s "
                  "(#5.4.6)",
             dt.s, 0);

    if (dstr_cats(&prefix, "Return-Path: <") == -1 ||
        dstr_cats(&prefix, sender) == -1 ||
        dstr_cats(&prefix, ">\nDelivered-To: ") == -1 ||
        dstr_cat(&prefix, &dt) == -1 || dstr_cats(&prefix, "\n") == -1 ||
        dstr_cat0(&prefix) == -1)
        done(111, "out of memory (#4.3.0)", 0, 0);

    dlen = strlen(dflt);
    if (dlen && dflt[dlen - 1] == '/') {
        dstr dir = DSTR_ZERO;
        /* "./Maildir/" -> "./Maildir" */
        if (dstr_catb(&dir, dflt, dlen - 1) == -1 || dstr_cat0(&dir) == -1)
            done(111, "out of memory (#4.3.0)", 0, 0);
        r = local_maildir(dir.s, prefix.s, why, sizeof why, &perm);
        if (r == 0)
            done(0, "delivered to Maildir %s", why, 0);
    } else if (dflt[0] == '.' || dflt[0] == '/') {
        r = local_mbox(dflt, sender, prefix.s, why, sizeof why, &perm);
        if (r == 0)
            done(0, "delivered to mbox %s", why, 0);
    } else {
        done(111, "unsupported default delivery instruction: %s (#4.3.5)",
             dflt, 0);
    }
    done(perm ? 100 : 111, "%s", why, 0);
}
