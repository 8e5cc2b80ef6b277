/*
 * qhome: find the instance's home.  Every program finds its home through
 * $QMAILHOME (default QHOME_DEFAULT) and works relative to it.
 */
#ifndef QHOME_H
#define QHOME_H

#ifndef QHOME_DEFAULT
#define QHOME_DEFAULT "/var/qmail"
#endif

/* The home directory: $QMAILHOME if set and non-empty, else the default.
 * A set-uid or set-gid program ignores $QMAILHOME. */
const char *qhome_dir(void);
/* chdir() to it, and set $QMAILHOME to its absolute path so that children
 * find it from anywhere.  Returns 0 or -1 with errno. */
int qhome_chdir(void);
/* Directory of the running program's binaries (dirname of /proc/self/exe),
 * so programs can run their siblings from bin/ without $PATH.  Returns a
 * static string, or "" if it cannot be found. */
const char *qhome_bindir(void);

#endif
