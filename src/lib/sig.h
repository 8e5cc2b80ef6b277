/*
 * sig: signal handling without surprises.  Handlers are installed with
 * sigaction and SA_RESTART off, so blocking calls return EINTR and loops
 * can check flags.  A self-pipe turns signals into readable events for
 * poll() loops.
 */
#ifndef SIG_H
#define SIG_H

typedef void sig_handler(int);

int sig_catch(int sig, sig_handler *h);
int sig_ignore(int sig);
int sig_default(int sig);
int sig_block(int sig);
int sig_unblock(int sig);

/* Self-pipe: sig_selfpipe_init() returns the read end (non-blocking);
 * sig_selfpipe_catch(sig) makes sig write its number there. */
int sig_selfpipe_init(void);
int sig_selfpipe_catch(int sig);
/* Read one pending signal number, 0 if none. */
int sig_selfpipe_read(void);

#endif
