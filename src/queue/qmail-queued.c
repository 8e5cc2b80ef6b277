/*
 * qmail-queued: qmail-queue as a long-lived daemon, so that sandboxed
 * servers (no_new_privs: no set-uid exec) can queue mail, and so that a
 * message costs a fork instead of a fork and an exec.
 *
 * Listens on the Unix stream socket $QMAILHOME/queue/sock/queued (mode
 * 0666: anyone may queue mail, as anyone may run qmail-queue).  For each
 * connection a child (forked, never exec'd) takes the client's uid and pid
 * from the kernel (SO_PEERCRED), receives one byte QQUEUE_HELLO carrying
 * exactly two descriptors (SCM_RIGHTS: the message, then the envelope,
 * read as qmail-queue reads its fds 0 and 1), queues the message with
 * queue_write.c, answers with qmail-queue's exit code (one byte) and its
 * own pid (4 bytes, big-endian: the message's "qp", also in its Received
 * line and queue file name), and exits.  A message whose envelope does
 * not arrive complete is not queued.  While qmail-send's flag
 * queue/lock/inflow is set (delivery falls behind), a child whose message
 * is queued holds its reply up to control/inflowdelay milliseconds
 * (default INFLOW_DELAY_DEFAULT, 0: never; see inflow_wait).  The whole
 * message must arrive within control/timeoutqueue seconds (default
 * QUEUED_TIMEOUT_DEFAULT), the descriptors within QUEUED_HELLO_TIMEOUT.
 *
 * Slots: at most QUEUED_CHILDREN_MAX children run; past that new
 * connections wait in the backlog.  The parent learns each connection's
 * uid (SO_PEERCRED) at accept time.  The mail system's uids (root, our
 * own, qmaild, qmails, and nobody when we run as root: the servers' user
 * in a root-run instance) may use every slot; any other uid at most
 * control/queuedperuid (default QUEUED_PERUID_DEFAULT) at once, and all
 * other uids together at most QUEUED_CHILDREN_MAX - QUEUED_RESERVE, so a
 * local user can block neither the mail system nor other users.  A
 * connection over its share is answered QQ_TEMP_REFUSED at once (nothing
 * was read from it: nothing is queued).
 *
 * It exits on SIGTERM or SIGINT, and when its fd 0 is a pipe or socket
 * that reaches end of file: qmail-start gives it a pipe whose write end
 * only qmail-send holds, so it never outlives qmail-send.  Running
 * children finish their message.  Exit 0, or 111 when it cannot start.
 *
 * Privileges: started by qmail-start as qmailq in a root install (owner
 * of the queue), else as the instance's user.  Each child enters the
 * sandbox sandbox_queued (no exec, no sockets, writes only queue/tmp,
 * queue/mess and lock/trigger) before it reads anything from the client.
 * Trust: the caller's identity is SO_PEERCRED's only; what it sends is
 * checked as qmail-queue checks its input, plus the shape of the hello
 * (one byte, two descriptors, each a pipe, socket or regular file).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "qhome.h"
#include "qqueue.h"
#include "queue.h"
#include "queue_write.h"
#include "sandbox.h"
#include "sig.h"
#include "timeutil.h"

#define QUEUED_TIMEOUT_DEFAULT 1200 /* seconds for a whole message */
#define QUEUED_HELLO_TIMEOUT 60     /* seconds for the descriptors */
#define QUEUED_CHILDREN_MAX 500
#define QUEUED_RESERVE 100 /* slots only the mail system's uids may use */
#define QUEUED_PERUID_DEFAULT 50 /* children per other uid */
#define QUEUED_REPLY_LEN 5 /* exit code, pid (4 bytes, big-endian) */
#define QUEUED_BACKLOG 128
#define QUEUED_FDS_MAX 8 /* room for a client that sends too many */
#define QUEUED_DRAIN_MS 200 /* at exit: serve the backlog until it is
                             * quiet this long */
#define INFLOW_DELAY_DEFAULT 1000 /* ms, control/inflowdelay */
#define INFLOW_DELAY_MAX 60000
#define INFLOW_STEP_MS 10
#define INFLOW_FLAG "lock/inflow" /* set by qmail-send: size > 0 */

/* relative to the queue directory, our working directory */
#define SOCK_DIR "sock"
#define SOCK_PATH "sock/queued"

static struct stat bound; /* our socket, so we remove only our own */

static void remove_socket(void)
{
    struct stat st;

    if (lstat(SOCK_PATH, &st) == 0 && st.st_dev == bound.st_dev &&
        st.st_ino == bound.st_ino)
        unlink(SOCK_PATH);
}

static _Noreturn void die(const char *fmt, const char *arg)
{
    log_errno(fmt, arg);
    _exit(111);
}

/* Set up the listening socket: refuse to steal a live one, remove a
 * stale one, bind, open it to everyone, listen. */
static int listen_socket(void)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, tries, live, dirfd;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, SOCK_PATH, sizeof SOCK_PATH);
    /* an instance made before qmail-queued existed has no queue/sock */
    if (mkdir(SOCK_DIR, 0755) == -1 && errno != EEXIST)
        die("fatal: unable to create queue/%s", SOCK_DIR);
    /* Two daemons starting at once must not both find the old socket
     * stale, each remove what the other bound and one end up listening on
     * a socket nobody reaches: the test-remove-bind below runs under an
     * flock on queue/sock, released before any child exists. */
    dirfd = open(SOCK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd == -1)
        die("fatal: unable to open queue/%s", SOCK_DIR);
    while (flock(dirfd, LOCK_EX) == -1)
        if (errno != EINTR)
            die("fatal: unable to lock queue/%s", SOCK_DIR);
    /* the one we replace may still be on its way out (a restart right
     * after qmail-send died): give it a moment */
    for (tries = 0; tries < 20 && lstat(SOCK_PATH, &st) == 0 &&
                    S_ISSOCK(st.st_mode);
         tries++) {
        struct timespec pause = {0, 100 * 1000000L};
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1)
            die("fatal: %s", "socket");
        live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (!live)
            break;
        nanosleep(&pause, 0);
    }
    if (lstat(SOCK_PATH, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            errno = EEXIST;
            die("fatal: queue/%s is not a socket; not removing it",
                SOCK_PATH);
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1)
            die("fatal: %s", "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(fd);
            log_line("fatal: another qmail-queued listens on queue/%s",
                     SOCK_PATH);
            _exit(111);
        }
        close(fd);
        if (unlink(SOCK_PATH) == -1 && errno != ENOENT)
            die("fatal: unable to remove the stale queue/%s", SOCK_PATH);
    } else if (errno != ENOENT)
        die("fatal: unable to look at queue/%s", SOCK_PATH);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        die("fatal: %s", "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
        die("fatal: unable to bind queue/%s", SOCK_PATH);
    if (lstat(SOCK_PATH, &bound) == -1 || chmod(SOCK_PATH, 0666) == -1)
        die("fatal: unable to open queue/%s to everyone", SOCK_PATH);
    if (listen(fd, QUEUED_BACKLOG) == -1)
        die("fatal: unable to listen on queue/%s", SOCK_PATH);
    close(dirfd); /* the lock goes with it */
    return fd;
}

/* ---- one connection (in the child) ------------------------------------------ */

static int fd_usable(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 &&
           (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
            S_ISREG(st.st_mode));
}

/* Receive the hello: returns 0 with fds[0..1] set, or -1 (logged unless
 * the client just went away). */
static int receive_fds(int conn, int fds[2], const char *tag, int *hold)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(QUEUED_FDS_MAX * sizeof(int))];
    } ctl;
    int got[QUEUED_FDS_MAX * 2];
    size_t ngot = 0, i;
    struct msghdr mh;
    struct iovec iov;
    struct cmsghdr *c;
    struct pollfd p;
    char byte = 0;
    ssize_t r;
    int k, ok;

    p.fd = conn;
    p.events = POLLIN;
    p.revents = 0;
    do
        k = poll(&p, 1, QUEUED_HELLO_TIMEOUT * 1000);
    while (k == -1 && errno == EINTR);
    if (k <= 0) {
        log_line("%sno descriptors within %d seconds: closed", tag,
                 QUEUED_HELLO_TIMEOUT);
        return -1;
    }
    memset(&ctl, 0, sizeof ctl);
    memset(&mh, 0, sizeof mh);
    iov.iov_base = &byte;
    iov.iov_len = 1;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof ctl.buf;
    do
        r = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (r == -1 && errno == EINTR);
    if (r == 0)
        return -1; /* connected and left: nothing to say */
    if (r == -1) {
        log_errno("%sunable to receive descriptors", tag);
        return -1;
    }
    for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        size_t n;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0))
            continue;
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < n && ngot < sizeof got / sizeof got[0]; i++)
            memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int),
                   sizeof(int));
    }
    *hold = byte == QQUEUE_HELLO;
    ok = (byte == QQUEUE_HELLO || byte == QQUEUE_HELLO_NOHOLD) && ngot == 2 &&
         !(mh.msg_flags & MSG_CTRUNC) &&
         fd_usable(got[0]) && fd_usable(got[1]);
    if (!ok) {
        for (i = 0; i < ngot; i++)
            close(got[i]);
        log_line("%sprotocol error (%s): closed", tag,
                 byte != QQUEUE_HELLO && byte != QQUEUE_HELLO_NOHOLD
                     ? "not a hello"
                 : ngot != 2 || (mh.msg_flags & MSG_CTRUNC)
                     ? "not two descriptors"
                     : "a descriptor is not a pipe, socket or file");
        return -1;
    }
    fds[0] = got[0];
    fds[1] = got[1];
    return 0;
}

static void put_reply(int conn, int code, long pid)
{
    unsigned char reply[QUEUED_REPLY_LEN];
    unsigned long p = pid > 0 ? (unsigned long)pid : 0;

    reply[0] = (unsigned char)code;
    reply[1] = (unsigned char)(p >> 24);
    reply[2] = (unsigned char)(p >> 16);
    reply[3] = (unsigned char)(p >> 8);
    reply[4] = (unsigned char)p;
    /* a client that left does not hear it: nothing else to do */
    (void)!send(conn, reply, sizeof reply, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Inflow control: qmail-send sets lock/inflow (gives it a nonzero size)
 * while more new messages wait for their first delivery than it can soon
 * start.  A message that is already queued (durable: a crash now loses
 * nothing, at worst the client sends it again) holds its reply while the
 * flag is set, in steps of INFLOW_STEP_MS, at most delay_ms in all, so
 * that the senders slow down to the rate of delivery. */
static void inflow_wait(int delay_ms)
{
    struct timespec step = {0, INFLOW_STEP_MS * 1000000L};
    int64_t deadline;
    struct stat st;

    if (delay_ms <= 0)
        return;
    deadline = time_mono_ms() + delay_ms;
    while (stat(INFLOW_FLAG, &st) == 0 && st.st_size > 0 &&
           time_mono_ms() < deadline)
        nanosleep(&step, 0);
}

static _Noreturn void serve(int conn, const struct ucred *cred, int timeout,
                            int inflow_ms)
{
    char tag[64];
    int fds[2], code, hold;
    qwrite_caller who;

    snprintf(tag, sizeof tag, "uid %ld pid %ld: ", (long)cred->uid,
             (long)cred->pid);
    /* in the sandbox since the parent entered it (before any client) */
    if (receive_fds(conn, fds, tag, &hold) == -1)
        _exit(QQ_READ);
    who.prog = "qmail-queued";
    who.pid = (long)getpid(); /* the message's qp, as qmail-queue's */
    who.uid = (long)cred->uid;
    who.timeout = timeout;
    who.tag = tag;
    code = qwrite(fds[0], fds[1], &who);
    close(fds[0]);
    close(fds[1]);
    if (code == 0 && hold) /* never qmail-send's own bounces */
        inflow_wait(inflow_ms);
    put_reply(conn, code, who.pid);
    _exit(code);
}

/* ---- the parent -------------------------------------------------------------- */

#define SYSTEM_UIDS_MAX 5

typedef struct queued {
    int lfd, sfd, watch, timeout, inflow_ms;
    unsigned long peruid;
    uid_t sys[SYSTEM_UIDS_MAX];
    size_t nsys;
    unsigned children; /* running */
    unsigned others;   /* of them, serving uids not the mail system's */
    struct {
        pid_t pid;
        uid_t uid;
        int other;
    } child[QUEUED_CHILDREN_MAX];
    time_t last_refusal_log;
    unsigned long refused; /* since the last log line about it */
} queued;

static void add_system_user(queued *d, const char *name)
{
    struct passwd *pw = getpwnam(name);

    if (pw && d->nsys < SYSTEM_UIDS_MAX)
        d->sys[d->nsys++] = pw->pw_uid;
}

/* The mail system's uids: they may use every slot (see the top). */
static void system_uids(queued *d)
{
    d->nsys = 0;
    d->sys[d->nsys++] = 0;
    d->sys[d->nsys++] = getuid();
    add_system_user(d, "qmaild");
    add_system_user(d, "qmails");
    if (getuid() == 0)
        add_system_user(d, "nobody"); /* the servers' user (qmailctl) */
}

static int is_system(const queued *d, uid_t uid)
{
    size_t i;

    for (i = 0; i < d->nsys; i++)
        if (d->sys[i] == uid)
            return 1;
    return 0;
}

static unsigned children_of(const queued *d, uid_t uid)
{
    unsigned i, n = 0;

    for (i = 0; i < d->children; i++)
        n += d->child[i].uid == uid;
    return n;
}

static void reap(queued *d)
{
    int status;
    pid_t pid;
    unsigned i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < d->children; i++)
            if (d->child[i].pid == pid) {
                if (d->child[i].other && d->others > 0)
                    d->others--;
                d->child[i] = d->child[--d->children];
                break;
            }
        if (WIFSIGNALED(status))
            log_line("child %ld killed by signal %d: its message was not "
                     "queued",
                     (long)pid, WTERMSIG(status));
    }
}

/* Over its share: answer a temporary failure without reading anything
 * (so nothing can be queued) and close.  Logged at most once a second. */
static void refuse(queued *d, int conn, const struct ucred *cred,
                   const char *why)
{
    time_t now = time(0);

    put_reply(conn, QQ_TEMP_REFUSED, 0);
    close(conn);
    d->refused++;
    if (now != d->last_refusal_log) {
        log_line("uid %ld pid %ld: refused, %s (%lu refused since the last "
                 "such line)",
                 (long)cred->uid, (long)cred->pid, why, d->refused);
        d->last_refusal_log = now;
        d->refused = 0;
    }
}

/* Accept one connection and fork its child. */
static void accept_one(queued *d)
{
    struct timespec pause = {0, 100 * 1000000L};
    int conn = accept4(d->lfd, 0, 0, SOCK_CLOEXEC);
    struct ucred cred;
    socklen_t len = sizeof cred;
    int other;
    pid_t pid;

    if (conn == -1) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            log_errno("warning: accept");
            nanosleep(&pause, 0); /* EMFILE and friends: no spinning */
        }
        return;
    }
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
        len != sizeof cred) {
        log_errno("warning: unable to learn who is connected: closed");
        close(conn);
        return;
    }
    other = !is_system(d, cred.uid);
    if (d->children >= QUEUED_CHILDREN_MAX) { /* only while draining */
        refuse(d, conn, &cred, "all children busy");
        return;
    }
    if (other && d->others >= QUEUED_CHILDREN_MAX - QUEUED_RESERVE) {
        refuse(d, conn, &cred, "the slots of local users are all busy");
        return;
    }
    if (other && children_of(d, cred.uid) >= d->peruid) {
        refuse(d, conn, &cred, "this uid has control/queuedperuid "
                               "messages being written");
        return;
    }
    pid = fork();
    if (pid == -1) {
        log_errno("warning: fork: connection closed");
        close(conn);
        nanosleep(&pause, 0);
        return;
    }
    if (pid == 0) {
        close(d->lfd);
        close(d->sfd);
        if (d->watch)
            close(0);
        sig_default(SIGCHLD);
        sig_default(SIGTERM);
        sig_default(SIGINT);
        serve(conn, &cred, d->timeout, d->inflow_ms);
    }
    close(conn);
    d->child[d->children].pid = pid;
    d->child[d->children].uid = cred.uid;
    d->child[d->children].other = other;
    d->children++;
    if (other)
        d->others++;
}

static int watch_input(void)
{
    struct stat st;

    return fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

static queued d; /* large: not on the stack */

int main(int argc, char **argv)
{
    unsigned long long timeout, peruid, inflow;
    int quit = 0;

    (void)argc;
    (void)argv;
    log_init("qmail-queued");
    umask(027); /* queue files are 0640 */
    signal(SIGPIPE, SIG_IGN);
    if (qhome_chdir() == -1)
        die("fatal: unable to chdir to %s", qhome_dir());
    if (control_readulong("control/timeoutqueue", &timeout,
                          QUEUED_TIMEOUT_DEFAULT) == -1)
        die("fatal: unable to read %s", "control/timeoutqueue");
    if (timeout == 0 || timeout > 7 * 24 * 3600)
        timeout = QUEUED_TIMEOUT_DEFAULT;
    if (control_readulong("control/queuedperuid", &peruid,
                          QUEUED_PERUID_DEFAULT) == -1)
        die("fatal: unable to read %s", "control/queuedperuid");
    if (peruid == 0 || peruid > QUEUED_CHILDREN_MAX - QUEUED_RESERVE)
        peruid = QUEUED_PERUID_DEFAULT;
    d.peruid = (unsigned long)peruid;
    if (control_readulong("control/inflowdelay", &inflow,
                          INFLOW_DELAY_DEFAULT) == -1)
        die("fatal: unable to read %s", "control/inflowdelay");
    if (inflow > INFLOW_DELAY_MAX)
        inflow = INFLOW_DELAY_MAX;
    d.inflow_ms = (int)inflow;
    d.timeout = (int)timeout;
    system_uids(&d);
    if (chdir("queue") == -1)
        die("fatal: unable to chdir to %s", "queue");
    d.watch = watch_input();
    d.sfd = sig_selfpipe_init();
    if (d.sfd == -1 || sig_selfpipe_catch(SIGCHLD) == -1 ||
        sig_selfpipe_catch(SIGTERM) == -1 || sig_selfpipe_catch(SIGINT) == -1)
        die("fatal: %s", "signals");
    d.lfd = listen_socket();
    log_line("listening on %s/queue/%s", qhome_dir(), SOCK_PATH);
    /* Once, here: every child inherits it before it reads a byte from
     * its client, and need not build it again per message. */
    if (sandbox_enter(&sandbox_queued, qhome_dir(), 0, 0) == -1)
        die("fatal: %s", "unable to enter the sandbox");

    while (!quit) {
        struct pollfd p[3];
        int n = 0, ilisten = -1, iinput = -1, k, sig;

        p[n].fd = d.sfd;
        p[n].events = POLLIN;
        n++;
        if (d.children < QUEUED_CHILDREN_MAX) {
            ilisten = n;
            p[n].fd = d.lfd;
            p[n].events = POLLIN;
            n++;
        }
        if (d.watch) {
            iinput = n;
            p[n].fd = 0;
            p[n].events = POLLIN;
            n++;
        }
        for (k = 0; k < n; k++)
            p[k].revents = 0;
        k = poll(p, (nfds_t)n, -1);
        if (k == -1) {
            if (errno == EINTR)
                continue;
            die("fatal: %s", "poll");
        }
        while ((sig = sig_selfpipe_read()) > 0) {
            if (sig == SIGCHLD)
                reap(&d);
            else
                quit = 1;
        }
        if (iinput >= 0 && p[iinput].revents) {
            char buf[256];
            ssize_t r = read(0, buf, sizeof buf);
            if (r == 0 || (r == -1 && errno != EINTR && errno != EAGAIN))
                quit = 1; /* qmail-send is gone */
        }
        if (!quit && ilisten >= 0 && (p[ilisten].revents & POLLIN))
            accept_one(&d);
    }
    /* No new client finds the socket (they run qmail-queue instead);
     * those already in the backlog are served (or, past the limits,
     * refused with a temporary failure), not reset. */
    remove_socket();
    for (;;) {
        struct pollfd p;
        int sig;
        p.fd = d.lfd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, QUEUED_DRAIN_MS) <= 0)
            break;
        while ((sig = sig_selfpipe_read()) > 0)
            if (sig == SIGCHLD)
                reap(&d);
        accept_one(&d);
    }
    close(d.lfd);
    log_line("exiting; %u message(s) still being written finish on their "
             "own", d.children);
    return 0;
}
