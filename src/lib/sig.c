/* sig.c: signal helpers and the self-pipe.  See sig.h. */
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int selfpipe[2] = {-1, -1};

int sig_catch(int sig, sig_handler *h)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, 0);
}

int sig_ignore(int sig) { return sig_catch(sig, SIG_IGN); }

int sig_default(int sig) { return sig_catch(sig, SIG_DFL); }

static int mask(int how, int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    return sigprocmask(how, &set, 0);
}

int sig_block(int sig) { return mask(SIG_BLOCK, sig); }

int sig_unblock(int sig) { return mask(SIG_UNBLOCK, sig); }

static void selfpipe_handler(int sig)
{
    unsigned char c = (unsigned char)sig;
    int saved = errno;
    if (write(selfpipe[1], &c, 1) == -1) {
        /* pipe full: the signal is already pending there */
    }
    errno = saved;
}

int sig_selfpipe_init(void)
{
    if (selfpipe[0] != -1)
        return selfpipe[0];
    if (pipe2(selfpipe, O_NONBLOCK | O_CLOEXEC) == -1)
        return -1;
    return selfpipe[0];
}

int sig_selfpipe_catch(int sig)
{
    if (selfpipe[0] == -1) {
        errno = EBADF;
        return -1;
    }
    return sig_catch(sig, selfpipe_handler);
}

int sig_selfpipe_read(void)
{
    unsigned char c;
    if (selfpipe[0] == -1)
        return 0;
    if (read(selfpipe[0], &c, 1) == 1)
        return c;
    return 0;
}
