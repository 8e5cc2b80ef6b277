/*
 * sandbox.c: no_new_privs, capabilities, rlimits, Landlock and seccomp
 * for the daemons that read input from strangers.  See sandbox.h.
 *
 * The profiles' system call lists were found by running the test suites
 * under strace -f for each program, plus what glibc (NSS for getpwnam,
 * malloc, time), tinycdb, libcrypt and libunbound use.  When a test
 * suite fails with a process "killed by signal 31", a list is too tight:
 * QMAIL_SANDBOX=off and strace show the missing call.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "control.h"
#include "dstr.h"
#include "env.h"
#include "log.h"

/* ---- Landlock constants newer than Debian 12's kernel headers -------------- */

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* struct landlock_ruleset_attr as of ABI 6; the kernel is told the size
 * its ABI knows */
struct ll_ruleset {
    uint64_t fs;
    uint64_t net;
    uint64_t scoped;
};

#define LL_FS_V1 ((1ULL << 13) - 1)
#define LL_FILE_RIGHTS                                                      \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |           \
     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |           \
     LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define LL_RO (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_EXEC (LL_RO | LANDLOCK_ACCESS_FS_EXECUTE)
#define LL_RW                                                               \
    (LL_RO | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |         \
     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_FIFO |           \
     LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_MAKE_SOCK |           \
     LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)

/* ---- the profiles -------------------------------------------------------------- */

/* every profile: memory, time, signals, reading and writing descriptors it
 * has, opening files (Landlock decides which), directories, NSS */
static const char *const base_calls[] = {
    "read", "write", "readv", "writev", "pread64", "close", "close_range",
    "fstat", "newfstatat", "stat", "lstat", "statx", "lseek", "openat",
    "open", "getdents64", "access", "faccessat", "faccessat2", "readlink",
    "readlinkat", "getcwd", "chdir", "fchdir", "fcntl", "dup", "dup2",
    "dup3", "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "exit", "exit_group", "getpid", "gettid", "getppid", "getuid",
    "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
    "gettimeofday", "time", "poll", "ppoll", "select", "pselect6",
    "getrandom", "futex", "restart_syscall", "uname", "getrlimit",
    "sched_yield", "sched_getaffinity", "getpeername", "getsockname",
    "shutdown", "connect", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "getsockopt", "setsockopt", "rseq", "set_robust_list",
    "sysinfo" /* qsort of a large array asks for the memory size */, 0};

static const char *const smtpd_calls[] = {
    /* qmail-queue runs inside the sandbox: it writes, links, renames and
     * syncs queue files, locks them and wakes qmail-send */
    "pipe2", "pipe", "wait4", "waitid", "pidfd_open", "kill", "pwrite64",
    "fsync", "fdatasync", "flock", "rename", "renameat", "renameat2",
    "link", "linkat", "unlink", "unlinkat", "umask", "fchmod", "ftruncate",
    "set_tid_address", "arch_prctl", "prctl", "sysinfo", "alarm",
    "setitimer", "getitimer",
    "setpgid", "getpgrp",
    /* what a $QMAILQUEUE shell filter runs (sh, cat) */
    "fadvise64", "copy_file_range", "sendfile", "splice", "wait4",
    "getpgid", "getsid", "setsid", "statfs", "fstatfs", 0};
static const char *const popup_calls[] = {0};
static const char *const pop3d_calls[] = {
    "rename", "renameat", "renameat2", "link", "linkat", "unlink",
    "unlinkat", "fsync", "fdatasync", 0};
static const char *const remote_calls[] = {
    /* libunbound's thread: epoll and friends */
    "epoll_create1", "epoll_create", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "eventfd2", "pipe2", "pipe", "bind",
    "listen", "accept", "accept4", "pwrite64", "flock", "fsync",
    "ftruncate", "sched_setaffinity", "membarrier", "get_robust_list",
    "prctl", 0};
static const char *const send_calls[] = {
    /* bounces: qmail-queue runs inside the sandbox too */
    "pipe2", "pipe", "wait4", "waitid", "pidfd_open", "kill", "pwrite64",
    "fsync", "fdatasync", "flock", "rename", "renameat", "renameat2",
    "link", "linkat", "unlink", "unlinkat", "umask", "fchmod", "ftruncate",
    "set_tid_address", "arch_prctl", "prctl", "sysinfo", "alarm",
    "setitimer", "getitimer", "setpgid",
    "getpgrp", 0};
/* qmail-queued: the parent accepts and forks (entered once, so that each
 * child inherits it instead of building it again per message); a child
 * does queue_write.c's file work on descriptors it was given.  No exec,
 * no new socket. */
static const char *const queued_calls[] = {
    "pwrite64", "fsync", "fdatasync", "flock", "rename", "renameat",
    "renameat2", "link", "linkat", "unlink", "unlinkat", "accept",
    "accept4", 0};

/* files outside the instance that glibc reads: NSS, time zone, DNS
 * configuration, shared libraries (loaded by NSS and by exec) */
#define SYSTEM_RO                                                            \
    "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ld.so.cache",  \
        "/etc/localtime", "/usr/share/zoneinfo", "/etc/hosts",              \
        "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf",              \
        "/etc/services", "/etc/protocols", "/dev/urandom"
#define SYSTEM_LIBS "/lib", "/lib64", "/usr/lib", "/usr/lib64"

static const char *const queue_ro[] = {"control", "users", SYSTEM_RO,
                                       SYSTEM_LIBS, 0};
static const char *const queue_rw[] = {"queue/tmp", "queue/mess",
                                       "queue/lock/trigger", "/dev/null", 0};
static const char *const queue_exec[] = {SYSTEM_LIBS, 0};
static const char *const popup_ro[] = {"control", SYSTEM_RO, SYSTEM_LIBS, 0};
static const char *const devnull[] = {"/dev/null", 0};
static const char *const pop3d_ro[] = {SYSTEM_RO, SYSTEM_LIBS, 0};
static const char *const pop3d_rw[] = {".", "/dev/null", 0};
static const char *const remote_ro[] = {
    "control", SYSTEM_RO, SYSTEM_LIBS, "/etc/ssl", "/usr/share/ca-certificates",
    "/sys/devices/system/cpu", 0};
/* queue/lock/tcpto, which it may have to create */
static const char *const remote_rw[] = {"queue/lock", "/dev/null", 0};
static const char *const send_ro[] = {"control", "users", "queue", SYSTEM_RO,
                                      SYSTEM_LIBS, 0};
static const char *const send_rw[] = {"queue/tmp", "queue/mess",
                                      "queue/lock", "/dev/null", 0};
static const char *const none[] = {0};
/* relative to the instance; the child's working directory is queue/ */
static const char *const queued_rw[] = {"queue/tmp", "queue/free",
                                        "queue/mess", "queue/lock/trigger",
                                        "queue/sock", 0};

#define MB ((rlim_t)1 << 20)

const sandbox_profile sandbox_smtpd = {
    "qmail-smtpd", SANDBOX_EXEC, smtpd_calls, queue_ro, queue_rw,
    queue_exec, 256, 0, 1024 * MB};
const sandbox_profile sandbox_qmtpd = {
    "qmail-qmtpd", SANDBOX_EXEC, smtpd_calls, queue_ro, queue_rw,
    queue_exec, 256, 0, 1024 * MB};
const sandbox_profile sandbox_popup = {
    "qmail-popup", SANDBOX_NODUMP, popup_calls, popup_ro, devnull, none,
    32, 0, 256 * MB};
const sandbox_profile sandbox_pop3d = {
    "qmail-pop3d", 0, pop3d_calls, pop3d_ro, pop3d_rw, none, 256, 0,
    1024 * MB};
const sandbox_profile sandbox_remote = {
    "qmail-remote", SANDBOX_TCP | SANDBOX_INET | SANDBOX_THREADS,
    remote_calls, remote_ro, remote_rw, none, 256, 0, 2048 * MB};
const sandbox_profile sandbox_send = {
    "qmail-send", SANDBOX_EXEC | SANDBOX_SIGNAL, send_calls, send_ro,
    send_rw, queue_exec, 0, 0, 0};
const sandbox_profile sandbox_queued = {
    "qmail-queued", SANDBOX_NOSOCKET | SANDBOX_FORK, queued_calls, none,
    queued_rw, none,
    32, 0, 256 * MB};

/* ---- the switch ------------------------------------------------------------------ */

int sandbox_is_off(const char *home)
{
    const char *e = env_get("QMAIL_SANDBOX");
    dstr path = DSTR_ZERO, v = DSTR_ZERO;
    int off = 0;

    if (e && strcmp(e, "off") == 0)
        return 1;
    if (!home || dstr_copys(&path, home) == -1 ||
        dstr_cats(&path, "/control/sandbox") == -1 || dstr_cat0(&path) == -1)
        goto out;
    if (control_readline(path.s, &v, "on") == 1 && v.len == 3 &&
        memcmp(v.s, "off", 3) == 0)
        off = 1;
out:
    dstr_free(&path);
    dstr_free(&v);
    return off;
}

/* ---- limits, privileges ------------------------------------------------------ */

static int limit(int resource, rlim_t value)
{
    struct rlimit rl;

    if (getrlimit(resource, &rl) == -1)
        return -1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < value)
        value = rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < value &&
        rl.rlim_max == value)
        value = rl.rlim_max;
    rl.rlim_cur = rl.rlim_max = value;
    return setrlimit(resource, &rl);
}

static int limits(const sandbox_profile *p)
{
    if (limit(RLIMIT_CORE, 0) == -1)
        return -1;
    if (p->nofile && limit(RLIMIT_NOFILE, p->nofile) == -1)
        return -1;
    if (p->fsize && limit(RLIMIT_FSIZE, p->fsize) == -1)
        return -1;
    /* AddressSanitizer reserves terabytes of address space up front: an
     * address-space limit would make every sanitized build fail */
#if !defined(__SANITIZE_ADDRESS__)
    if (p->as && limit(RLIMIT_AS, p->as) == -1)
        return -1;
#endif
    return 0;
}

int sandbox_drop_bounding(void)
{
    int cap;

    for (cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
            if (errno == EINVAL)
                break; /* past the last capability */
            return -1;
        }
    return 0;
}

/* A process that still runs as root (a root-run instance without an
 * install, or a server under a plain tcpserver) keeps one capability,
 * CAP_DAC_READ_SEARCH, so that it can still read what the instance's
 * users own; it loses every other (no writing others' files, no
 * setuid, no signals to others, no raw network).  Landlock limits what
 * it reads. */
static int drop_caps(void)
{
    struct __user_cap_header_struct h;
    struct __user_cap_data_struct d[2];
    int root = geteuid() == 0, cap;

    /* only root (CAP_SETPCAP) may shrink the bounding set; with
     * no_new_privs nothing can be gained from it anyway */
    for (cap = 0; cap <= 63; cap++) {
        if (root && cap == CAP_DAC_READ_SEARCH)
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
            if (errno == EINVAL)
                break;
            if (errno == EPERM)
                break;
            return -1;
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
        errno != EINVAL)
        return -1;
    memset(&h, 0, sizeof h);
    memset(d, 0, sizeof d);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = 0;
    if (root) {
        d[0].effective = d[0].permitted = 1u << CAP_DAC_READ_SEARCH;
    }
    return (int)syscall(SYS_capset, &h, d);
}

/* ---- Landlock -------------------------------------------------------------------- */

int sandbox_landlock_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, (void *)0, (size_t)0,
                     (unsigned)LANDLOCK_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : (int)v;
}

/* Allow rights below path (relative to home unless absolute).  A path
 * that does not exist is skipped. */
static int ll_allow(int ruleset, uint64_t handled, const char *home,
                    const char *path, uint64_t rights)
{
    struct landlock_path_beneath_attr pb;
    dstr full = DSTR_ZERO;
    struct stat st;
    int fd, r = 0;

    if (path[0] == '/' || !home)
        r = dstr_copys(&full, path);
    else if (strcmp(path, ".") == 0)
        r = dstr_copys(&full, "."); /* the current directory */
    else
        r = (dstr_copys(&full, home) == -1 || dstr_catc(&full, '/') == -1)
                ? -1
                : dstr_cats(&full, path);
    if (r == -1 || dstr_cat0(&full) == -1) {
        dstr_free(&full);
        return -1;
    }
    fd = open(full.s, O_PATH | O_CLOEXEC);
    dstr_free(&full);
    if (fd == -1)
        return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0
                                                                      : -1;
    if (fstat(fd, &st) == -1) {
        close(fd);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        rights &= LL_FILE_RIGHTS;
    memset(&pb, 0, sizeof pb);
    pb.allowed_access = rights & handled;
    pb.parent_fd = fd;
    if (pb.allowed_access)
        r = (int)syscall(SYS_landlock_add_rule, ruleset,
                         LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    close(fd);
    return r == -1 ? -1 : 0;
}

static int ll_list(int ruleset, uint64_t handled, const char *home,
                   const char *const *list, uint64_t rights)
{
    for (; list && *list; list++)
        if (ll_allow(ruleset, handled, home, *list, rights) == -1) {
            log_errno("sandbox: Landlock rule for %s", *list);
            return -1;
        }
    return 0;
}

static int landlock(const sandbox_profile *p, const char *home,
                    const char *extra_ro, const char *extra_exec)
{
    struct ll_ruleset attr;
    size_t size = sizeof attr.fs;
    int abi = sandbox_landlock_abi(), fd, r;
    uint64_t exec_rights = LL_EXEC;

    /* ABI 1 refuses every rename between directories: a Maildir and the
     * queue need them.  An administrator's program that runs inside the
     * sandbox ($QMAILQUEUE) may need any path. */
    if (abi < 2 || (p->flags & SANDBOX_FOREIGN_EXEC))
        return 0;
    memset(&attr, 0, sizeof attr);
    attr.fs = LL_FS_V1 | LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        attr.fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        attr.fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    if (abi >= 4) {
        size = 2 * sizeof attr.fs;
        if (!(p->flags & SANDBOX_TCP))
            attr.net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    }
    if (abi >= 6) {
        size = sizeof attr;
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX;
        if (!(p->flags & SANDBOX_SIGNAL))
            attr.scoped |= LL_SCOPE_SIGNAL;
    }
    fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
    if (fd == -1) {
        log_errno("sandbox: cannot make a Landlock ruleset");
        return -1;
    }
    r = 0;
    if (ll_list(fd, attr.fs, home, p->ro, LL_RO) == -1 ||
        ll_list(fd, attr.fs, home, p->rw, LL_RW) == -1 ||
        ll_list(fd, attr.fs, home, p->exec, exec_rights) == -1 ||
        (extra_ro && ll_allow(fd, attr.fs, home, extra_ro, LL_RO) == -1) ||
        (extra_exec &&
         ll_allow(fd, attr.fs, home, extra_exec, exec_rights) == -1))
        r = -1;
    if (r == 0 && syscall(SYS_landlock_restrict_self, fd, 0U) == -1) {
        log_errno("sandbox: cannot enter the Landlock domain");
        r = -1;
    }
    close(fd);
    return r;
}

/* ---- seccomp ------------------------------------------------------------------- */

static int allow_names(scmp_filter_ctx ctx, const char *const *names)
{
    for (; names && *names; names++) {
        int nr = seccomp_syscall_resolve_name(*names), r;
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue; /* not a system call of this architecture */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (r < 0 && r != -EEXIST) {
            errno = -r;
            log_errno("sandbox: seccomp rule for %s", *names);
            return -1;
        }
    }
    return 0;
}

/* QMAIL_SANDBOX=report: a violation names the system call on fd 2 before
 * the process dies of SIGSYS (to find what a profile lacks) */
static void report_violation(int sig, siginfo_t *si, void *ctx)
{
    char msg[80] = "sandbox: forbidden system call ";
    size_t n = strlen(msg);
    char digits[12];
    int i = 0, nr = si->si_syscall;

    (void)ctx;
    do
        digits[i++] = (char)('0' + nr % 10);
    while ((nr /= 10) > 0 && i < 11);
    while (i > 0)
        msg[n++] = digits[--i];
    msg[n++] = '\n';
    (void)!write(2, msg, n);
    signal(sig, SIG_DFL);
    raise(sig); /* pending until we return: then the default kills us */
}

static int seccomp_install(const sandbox_profile *p)
{
    const char *mode = env_get("QMAIL_SANDBOX");
    int report = mode && strcmp(mode, "report") == 0;
    scmp_filter_ctx ctx =
        seccomp_init(report ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
    int r = -1;

    if (report) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = report_violation;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSYS, &sa, 0);
    }

    if (!ctx) {
        errno = ENOMEM;
        return -1;
    }
#define RULE(action, call, ...)                                              \
    do {                                                                     \
        int rr_ = seccomp_rule_add(ctx, action, SCMP_SYS(call), __VA_ARGS__); \
        if (rr_ < 0) {                                                       \
            errno = -rr_;                                                    \
            goto out;                                                        \
        }                                                                    \
    } while (0)
    if (allow_names(ctx, base_calls) == -1 ||
        allow_names(ctx, p->syscalls) == -1)
        goto out;
    /* unix sockets (NSS); inet ones only where the profile says */
    if (!(p->flags & SANDBOX_NOSOCKET)) {
        RULE(SCMP_ACT_ALLOW, socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
        RULE(SCMP_ACT_ALLOW, socketpair, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    }
    if (p->flags & SANDBOX_INET) {
        RULE(SCMP_ACT_ALLOW, socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET));
        RULE(SCMP_ACT_ALLOW, socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6));
    }
    /* ioctl: is it a terminal, how much is there to read */
    RULE(SCMP_ACT_ALLOW, ioctl, 1,
         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TCGETS));
    RULE(SCMP_ACT_ALLOW, ioctl, 1,
         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, FIONREAD));
    RULE(SCMP_ACT_ALLOW, ioctl, 1,
         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, FIONBIO));
    /* signals to ourselves (abort, raise) */
    RULE(SCMP_ACT_ALLOW, tgkill, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
    /* reading limits, never setting them */
    RULE(SCMP_ACT_ALLOW, prlimit64, 1, SCMP_A2(SCMP_CMP_EQ, 0));
    if (p->flags & SANDBOX_EXEC) {
        RULE(SCMP_ACT_ALLOW, clone, 0);
        RULE(SCMP_ACT_ALLOW, clone3, 0);
        RULE(SCMP_ACT_ALLOW, execve, 0);
        RULE(SCMP_ACT_ALLOW, vfork, 0);
        RULE(SCMP_ACT_ALLOW, fork, 0);
    } else if (p->flags & SANDBOX_FORK) {
        /* processes, never a new program; glibc's fork is clone */
        RULE(SCMP_ACT_ERRNO(ENOSYS), clone3, 0);
        RULE(SCMP_ACT_ALLOW, clone, 0);
        RULE(SCMP_ACT_ALLOW, fork, 0);
        RULE(SCMP_ACT_ALLOW, vfork, 0);
        RULE(SCMP_ACT_ALLOW, wait4, 0);
        RULE(SCMP_ACT_ALLOW, waitid, 0);
    } else if (p->flags & SANDBOX_THREADS) {
        /* threads, never processes: clone3 hides its flags from the
         * filter, so glibc is told it does not exist and uses clone */
        RULE(SCMP_ACT_ERRNO(ENOSYS), clone3, 0);
        RULE(SCMP_ACT_ALLOW, clone, 1,
             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    }
#undef RULE
    r = seccomp_load(ctx);
    if (r < 0) {
        errno = -r;
        r = -1;
    }
out:
    seccomp_release(ctx);
    return r;
}

/* ---- the self-test hook ------------------------------------------------------- */

static void selftest(const sandbox_profile *p)
{
    const char *t = env_get("QMAIL_SANDBOX_SELFTEST");

    if (!t || !*t)
        return;
    if (strncmp(t, "syscall:", 8) == 0) {
        int nr = seccomp_syscall_resolve_name(t + 8);
        long r;
        if (nr == __NR_SCMP_ERROR || nr < 0) {
            log_line("sandbox selftest: no system call %s", t + 8);
            return;
        }
        log_line("sandbox selftest: %s calls %s", p->name, t + 8);
        r = syscall(nr, 0, 0, 0, 0, 0, 0);
        if (r == -1)
            log_errno("sandbox selftest: %s returned", t + 8);
        else
            log_line("sandbox selftest: %s returned %ld", t + 8, r);
    } else if (strncmp(t, "open:", 5) == 0 || strncmp(t, "write:", 6) == 0) {
        int w = t[0] == 'w';
        const char *path = t + (w ? 6 : 5);
        int fd = open(path, (w ? O_WRONLY | O_APPEND : O_RDONLY) | O_CLOEXEC |
                                O_NOCTTY | O_NONBLOCK);
        if (fd == -1) {
            log_errno("sandbox selftest: %s cannot open %s", p->name, path);
        } else {
            log_line("sandbox selftest: %s opened %s", p->name, path);
            close(fd);
        }
    } else {
        log_line("sandbox selftest: unknown test %s", t);
    }
}

/* ---- the whole ----------------------------------------------------------------- */

int sandbox_enter(const sandbox_profile *p, const char *home,
                  const char *extra_ro, const char *extra_exec)
{
    if (sandbox_is_off(home)) {
        log_line("sandbox: %s runs without sandbox (switched off)", p->name);
        selftest(p);
        return 1;
    }
    if (limits(p) == -1) {
        log_errno("sandbox: cannot set resource limits");
        return -1;
    }
    if ((p->flags & SANDBOX_NODUMP) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
        log_errno("sandbox: cannot make the process not dumpable");
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
        log_errno("sandbox: cannot set no_new_privs");
        return -1;
    }
    if (drop_caps() == -1) {
        log_errno("sandbox: cannot drop capabilities");
        return -1;
    }
    if (landlock(p, home, extra_ro, extra_exec) == -1)
        return -1;
    if (seccomp_install(p) == -1) {
        log_errno("sandbox: cannot install the seccomp filter");
        return -1;
    }
    selftest(p);
    return 0;
}
