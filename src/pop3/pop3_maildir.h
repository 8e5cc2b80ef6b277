/*
 * pop3_maildir: the messages of one Maildir, as qmail-pop3d serves them.
 *
 * pop3_box_scan() runs in the Maildir (the current directory).  It first
 * moves every message of new/ to cur/, adding the info ":2," as the
 * Maildir specification says (a name that already has an info part keeps
 * it), with a rename that never replaces an existing file; a message that
 * cannot be moved (read-only Maildir, a name taken in cur/) is served from
 * new/ where it is.  Then it lists the regular files of cur/ (names
 * starting with "." are skipped, as are symbolic links, directories,
 * FIFOs...), computes each message's size on the wire (pop3_enc.h), and
 * numbers them in delivery order (modification time, then name).
 *
 * Files in tmp/ not accessed for 36 hours are removed, as the
 * specification asks of readers (debris of deliveries that died).
 *
 * At most POP3_BOX_MAX messages are listed in one session: the rest stay
 * untouched for a later one.  Memory is one small record and the file
 * name per message.
 *
 * The UIDL of a message is its Maildir unique name: the file name before
 * the ':' of the info part.  It stays the same across sessions, when the
 * message moves from new/ to cur/ and when a mail reader changes its flags.
 * A unique name that RFC 1939 does not allow as a UIDL (longer than 70
 * octets, or octets outside 0x21..0x7e) is replaced by a hash of it, the
 * letter "H" and 32 hex digits, which is just as stable.
 *
 * Other programs may use the Maildir at the same time (a second POP3
 * session, a mail reader, a delivery).  Nothing here locks: files are only
 * renamed and unlinked, never rewritten, so nobody sees a half-changed
 * message.  A message that another program renamed (new flags) since the
 * scan is found again by its unique name; one that is gone is reported
 * as such (ENOENT) and a removal of it succeeds.
 *
 * Trust: the Maildir belongs to the user this runs as; file names and
 * contents are the user's (and any sender's).  Nothing follows a symbolic
 * link, and opening never blocks on a FIFO.
 */
#ifndef POP3_MAILDIR_H
#define POP3_MAILDIR_H

#include <stddef.h>

#include "dstr.h"

#define POP3_BOX_MAX 65536
#define POP3_UID_MAX 70

struct pop3_msg {
    size_t path;                /* offset in names: "cur/NAME" or "new/NAME" */
    size_t uid;                 /* offset in names: the UIDL */
    unsigned long long size;    /* octets RETR sends, without stuffing */
    long long mtime_sec;
    long mtime_nsec;
    int deleted;
};

struct pop3_box {
    struct pop3_msg *msg;
    size_t n, cap;
    dstr names;                 /* NUL-terminated strings */
    size_t skipped;             /* messages left for later (over the limit) */
    size_t unreadable;          /* files that could not be opened */
};

/* Move new/ to cur/ and list the messages (at most max of them).  Returns
 * 0, or -1 with errno (a Maildir without cur/ or new/: ENOENT). */
int pop3_box_scan(struct pop3_box *b, size_t max);
const char *pop3_box_path(const struct pop3_box *b, size_t i);
const char *pop3_box_uid(const struct pop3_box *b, size_t i);
/* Open message i (0-based) for reading: a descriptor, or -1 with errno
 * (ENOENT: the message is gone). */
int pop3_box_open(struct pop3_box *b, size_t i);
/* Remove message i's file.  Returns 0 (also when it was gone already) or
 * -1 with errno. */
int pop3_box_remove(struct pop3_box *b, size_t i);
void pop3_box_free(struct pop3_box *b);

/* The UIDL for a Maildir file name (without directory) into out, which
 * has room for POP3_UID_MAX + 1 octets; returns its length. */
size_t pop3_uid_from_name(const char *name, char *out);

#endif
