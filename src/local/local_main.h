/*
 * local_main: deliver one message to one local recipient, as the user
 * this process runs as: qmail-local(8)'s whole job.
 *
 * argv as qmail-local's: [-r] [-i MSGID] -l LEN -- user home local dash
 * ext domain sender defaultdelivery; the current directory is the home
 * and the message (LEN bytes, a sealed copy without the envelope) is on
 * fd 0.  Writes one line to fd 1 and exits 0, 100 or 111; never returns.
 *
 * The caller must run it in a process of its own that holds nothing else:
 * qmail-lspawn's child closes every other descriptor, resets its signals
 * and becomes the user first.
 */
#ifndef LOCAL_MAIN_H
#define LOCAL_MAIN_H

_Noreturn void local_main(int argc, char **argv);

#endif
