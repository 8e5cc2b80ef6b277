/*
 * qhome: find the instance's home.  Every program finds its home through
 * $QMAILHOME (default: the installed home, else QHOME_DEFAULT) and works
 * relative to it.
 *
 * The installed home: `make install` writes the home it installed into
 * as one line into QHOME_MARKER beside the programs (BINDIR/qmailhome), so
 * programs installed into a home other than /var/qmail find it without
 * $QMAILHOME.  A set-id program (qmail-queue, setuid qmailq) ignores
 * $QMAILHOME and believes the marker only when it and the directory
 * holding it belong to root and no one else may write them: a caller
 * cannot choose the queue it writes into.
 */
#ifndef QHOME_H
#define QHOME_H

#ifndef QHOME_DEFAULT
#define QHOME_DEFAULT "/var/qmail"
#endif
#define QHOME_MARKER "qmailhome"

/* The home directory: $QMAILHOME if set and non-empty (not for set-id
 * programs), else the installed home, else QHOME_DEFAULT. */
const char *qhome_dir(void);
/* chdir() to it, and set $QMAILHOME to its absolute path so that children
 * find it from anywhere.  Returns 0 or -1 with errno. */
int qhome_chdir(void);
/* Directory of the running program's binaries (dirname of /proc/self/exe),
 * so programs can run their siblings from bin/ without $PATH.  Returns a
 * static string, or "" if it cannot be found. */
const char *qhome_bindir(void);
/* The home recorded beside the binaries (QHOME_MARKER), or NULL when
 * there is none (a build tree) or, for a set-id program, when it is not
 * trustworthy.  A static string. */
const char *qhome_installed(void);

#endif
