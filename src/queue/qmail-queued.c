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
 * queue_write.c, answers with one byte, qmail-queue's exit code, and
 * exits.  A message whose envelope does not arrive complete is not
 * queued.  The whole message must arrive within control/timeoutqueue
 * seconds (default QUEUED_TIMEOUT_DEFAULT), the descriptors within
 * QUEUED_HELLO_TIMEOUT; at most QUEUED_CHILDREN_MAX children run, past
 * that new connections wait in the backlog.
 *
 * It exits on SIGTERM or SIGINT, and when its fd 0 is a pipe or socket
 * that reaches end of file: qmail-start gives it a pipe whose write end
 * only qmail-send holds, so it never outlives qmail-send.  Running
 * children finish their message.  Exit 0, or 111 when it cannot start.
 *
 * Privileges: started by qmail-start as qmailq in a root install (owner
 * of the queue), else as the instance's user.  Trust: the caller's
 * identity is SO_PEERCRED's only; what it sends is checked as qmail-queue
 * checks its input, plus the shape of the hello (one byte, two
 * descriptors, each a pipe, socket or regular file).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
#include "sig.h"
#include "timeutil.h"

#define QUEUED_TIMEOUT_DEFAULT 1200 /* seconds for a whole message */
#define QUEUED_HELLO_TIMEOUT 60     /* seconds for the descriptors */
#define QUEUED_CHILDREN_MAX 500
#define QUEUED_BACKLOG 128
#define QUEUED_FDS_MAX 8 /* room for a client that sends too many */
#define QUEUED_DRAIN_MS 200 /* at exit: serve the backlog until it is
                             * quiet this long */

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
    int fd, tries, live;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, SOCK_PATH, sizeof SOCK_PATH);
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

    /* an instance made before qmail-queued existed has no queue/sock */
    if (mkdir(SOCK_DIR, 0755) == -1 && errno != EEXIST)
        die("fatal: unable to create queue/%s", SOCK_DIR);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        die("fatal: %s", "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
        die("fatal: unable to bind queue/%s", SOCK_PATH);
    if (lstat(SOCK_PATH, &bound) == -1 || chmod(SOCK_PATH, 0666) == -1)
        die("fatal: unable to open queue/%s to everyone", SOCK_PATH);
    if (listen(fd, QUEUED_BACKLOG) == -1)
        die("fatal: unable to listen on queue/%s", SOCK_PATH);
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
static int receive_fds(int conn, int fds[2], const char *tag)
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
    ok = byte == QQUEUE_HELLO && ngot == 2 && !(mh.msg_flags & MSG_CTRUNC) &&
         fd_usable(got[0]) && fd_usable(got[1]);
    if (!ok) {
        for (i = 0; i < ngot; i++)
            close(got[i]);
        log_line("%sprotocol error (%s): closed", tag,
                 byte != QQUEUE_HELLO ? "not a hello"
                 : ngot != 2 || (mh.msg_flags & MSG_CTRUNC)
                     ? "not two descriptors"
                     : "a descriptor is not a pipe, socket or file");
        return -1;
    }
    fds[0] = got[0];
    fds[1] = got[1];
    return 0;
}

static _Noreturn void serve(int conn, int timeout)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    char tag[64];
    int fds[2], code;
    unsigned char reply;
    qwrite_caller who;

    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
        len != sizeof cred) {
        log_errno("unable to learn who is connected");
        _exit(QQ_BUG);
    }
    snprintf(tag, sizeof tag, "uid %ld pid %ld: ", (long)cred.uid,
             (long)cred.pid);
    if (receive_fds(conn, fds, tag) == -1)
        _exit(QQ_READ);
    who.prog = "qmail-queued";
    who.pid = (long)cred.pid;
    who.uid = (long)cred.uid;
    who.timeout = timeout;
    who.tag = tag;
    code = qwrite(fds[0], fds[1], &who);
    close(fds[0]);
    close(fds[1]);
    reply = (unsigned char)code;
    /* a client that left does not hear it: nothing else to do */
    (void)!send(conn, &reply, 1, MSG_NOSIGNAL);
    _exit(code);
}

/* ---- the parent -------------------------------------------------------------- */

static void reap(unsigned *children)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (*children > 0)
            (*children)--;
        if (WIFSIGNALED(status))
            log_line("child %ld killed by signal %d: its message was not "
                     "queued",
                     (long)pid, WTERMSIG(status));
    }
}

/* Accept one connection and fork its child. */
static void accept_one(int lfd, int sfd, int watch, int timeout,
                       unsigned *children)
{
    struct timespec pause = {0, 100 * 1000000L};
    int conn = accept4(lfd, 0, 0, SOCK_CLOEXEC);
    pid_t pid;

    if (conn == -1) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            log_errno("warning: accept");
            nanosleep(&pause, 0); /* EMFILE and friends: no spinning */
        }
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
        close(lfd);
        close(sfd);
        if (watch)
            close(0);
        sig_default(SIGCHLD);
        sig_default(SIGTERM);
        sig_default(SIGINT);
        serve(conn, timeout);
    }
    close(conn);
    (*children)++;
}

static int watch_input(void)
{
    struct stat st;

    return fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

int main(int argc, char **argv)
{
    unsigned long long timeout;
    unsigned children = 0;
    int lfd, sfd, watch, quit = 0;

    (void)argc;
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
    if (chdir("queue") == -1)
        die("fatal: unable to chdir to %s", "queue");
    watch = watch_input();
    sfd = sig_selfpipe_init();
    if (sfd == -1 || sig_selfpipe_catch(SIGCHLD) == -1 ||
        sig_selfpipe_catch(SIGTERM) == -1 || sig_selfpipe_catch(SIGINT) == -1)
        die("fatal: %s", "signals");
    lfd = listen_socket();
    log_line("listening on %s/queue/%s", qhome_dir(), SOCK_PATH);

    while (!quit) {
        struct pollfd p[3];
        int n = 0, ilisten = -1, iinput = -1, k, sig;

        p[n].fd = sfd;
        p[n].events = POLLIN;
        n++;
        if (children < QUEUED_CHILDREN_MAX) {
            ilisten = n;
            p[n].fd = lfd;
            p[n].events = POLLIN;
            n++;
        }
        if (watch) {
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
                reap(&children);
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
            accept_one(lfd, sfd, watch, (int)timeout, &children);
    }
    /* No new client finds the socket (they run qmail-queue instead);
     * those already in the backlog are served, not reset. */
    remove_socket();
    for (;;) {
        struct pollfd p;
        p.fd = lfd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, QUEUED_DRAIN_MS) <= 0)
            break;
        accept_one(lfd, sfd, watch, (int)timeout, &children);
    }
    close(lfd);
    log_line("exiting; %u message(s) still being written finish on their "
             "own", children);
    return 0;
}
