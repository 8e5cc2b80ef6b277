/*
 * sandbox: the last step of every daemon's start (STYLE.md point 7).
 *
 * After a daemon opened what it needs and dropped its uid, it calls
 * sandbox_enter() once with its profile.  In this order:
 *
 *   1. the switch: $QMAIL_SANDBOX=off in the environment, or a first line
 *      "off" in HOME/control/sandbox, turns all of it off (logged); for
 *      debugging only (strace and gdb cannot attach to a sandbox);
 *   2. resource limits: RLIMIT_CORE 0 always, RLIMIT_NOFILE and RLIMIT_AS
 *      as the profile says (never raised).  No profile sets RLIMIT_FSIZE:
 *      it applies to the log on fd 2 when that is a file (qmailctl start)
 *      and, surviving exec, to the queue files qmail-queue writes; a
 *      profile may still set it.
 *      RLIMIT_NPROC is not used: it counts every process of the real uid,
 *      which in an ordinary-user instance is the user's whole session; the
 *      filter below forbids fork where a profile does not need it;
 *   3. PR_SET_DUMPABLE 0 when the profile holds secrets (passwords);
 *   4. PR_SET_NO_NEW_PRIVS: no exec can ever give privilege again (set-id
 *      bits and file capabilities are ignored from here on);
 *   5. capabilities: the bounding set is emptied when we are allowed to
 *      (still root, or CAP_SETPCAP), the ambient set cleared, then the
 *      effective, permitted and inheritable sets zeroed with capset(2).
 *      A process still running as uid 0 (a root-run instance without an
 *      install, a server under a bare tcpserver) keeps CAP_DAC_READ_SEARCH
 *      alone, to read what the instance's users own;
 *   6. Landlock, when the kernel has it (best effort by ABI version: 1..6
 *      are used when present): the process may open, list, execute and
 *      write only below the profile's paths, which are relative to home
 *      unless absolute; paths that do not exist are skipped.  From ABI 4
 *      a profile without SANDBOX_TCP may neither bind nor connect TCP;
 *      from ABI 6 abstract unix sockets and signals to processes outside
 *      the sandbox are refused (unless SANDBOX_SIGNAL);
 *   7. a seccomp filter (libseccomp): the base set below plus the
 *      profile's list are allowed; anything else kills the process
 *      (SECCOMP_RET_KILL_PROCESS: SIGSYS, logged by the kernel's audit
 *      and by whoever reaps it).
 *
 * Then, for the tests only, $QMAIL_SANDBOX_SELFTEST (set by the
 * administrator, e.g. in a tcprules entry, never by a client):
 *   "syscall:NAME"  calls system call NAME with zero arguments (a
 *                   forbidden one kills the process);
 *   "open:PATH"     opens PATH for reading and logs the result;
 *   "write:PATH"    opens PATH for appending and logs the result;
 * and the process carries on.
 *
 * Returns 1 when switched off, 0 when the sandbox is in place, -1 with
 * errno (logged) when a step failed: the caller must then exit 111 rather
 * than run without it.  A kernel without Landlock is no failure.
 *
 * Trust: the profile and home are the caller's; the switch and the
 * self-test come from the administrator's environment and control/.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <sys/resource.h>

#define SANDBOX_NODUMP 1u   /* holds a password: not dumpable */
#define SANDBOX_TCP 2u      /* may bind/connect TCP (Landlock net) */
#define SANDBOX_INET 4u     /* may make AF_INET/AF_INET6 sockets */
#define SANDBOX_SIGNAL 8u   /* may signal processes outside the sandbox */
#define SANDBOX_EXEC 16u    /* may fork and exec (children inherit it) */
#define SANDBOX_THREADS 32u /* may start threads (clone with CLONE_THREAD) */
#define SANDBOX_FOREIGN_EXEC 64u /* runs an administrator's program (a
                                  * $QMAILQUEUE filter), which inherits the
                                  * sandbox: no Landlock, seccomp only */
#define SANDBOX_FORK 256u   /* may fork and wait, never exec (children
                              * inherit the sandbox) */
#define SANDBOX_NOSOCKET 128u /* may make no socket at all, not even a
                               * unix one (no NSS through sockets) */

#define SANDBOX_PATHS_MAX 16

typedef struct sandbox_profile {
    const char *name;
    unsigned flags;
    /* system calls beyond the base set (by name; names this architecture
     * does not have are skipped), NULL-terminated */
    const char *const *syscalls;
    /* Landlock: relative to home unless absolute, "." the current
     * directory; NULL-terminated */
    const char *const *ro;   /* read files, list directories */
    const char *const *rw;   /* and write, create, remove, rename */
    const char *const *exec; /* read and execute */
    rlim_t nofile;           /* 0: leave as it is */
    rlim_t fsize;            /* 0: leave as it is */
    rlim_t as;               /* 0: leave as it is */
} sandbox_profile;

/* The profiles of the daemons that read input from strangers. */
extern const sandbox_profile sandbox_smtpd;  /* qmail-smtpd */
extern const sandbox_profile sandbox_qmtpd;  /* qmail-qmtpd, qmail-qmqpd */
extern const sandbox_profile sandbox_popup;  /* qmail-popup before login */
extern const sandbox_profile sandbox_pop3d;  /* qmail-pop3d, in the Maildir */
extern const sandbox_profile sandbox_remote; /* qmail-remote */
extern const sandbox_profile sandbox_send;   /* qmail-send */
extern const sandbox_profile sandbox_queued; /* a qmail-queued child */

/* Enter the sandbox (above).  home: the instance ($QMAILHOME; an
 * absolute path, or "." when it is the current directory); extra_ro / extra_exec: one more path each that
 * the caller computed (e.g. the qmail-queue it runs), or NULL. */
int sandbox_enter(const sandbox_profile *p, const char *home,
                  const char *extra_ro, const char *extra_exec);

/* The kernel's Landlock ABI version, 0 when it has none. */
int sandbox_landlock_abi(void);

/* Empty the capability bounding set (needs root or CAP_SETPCAP: call it
 * before giving up root, so that the sandbox later finds it empty).
 * Returns 0, or -1 with errno. */
int sandbox_drop_bounding(void);

/* 1 if the switch (step 1) turns the sandbox off for home. */
int sandbox_is_off(const char *home);

#endif
