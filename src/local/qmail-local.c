/*
 * qmail-local: deliver one message to one local recipient, as that user.
 *
 *   qmail-local [-r] [-i MSGID] -l LEN -- user home local dash ext domain
 *               sender defaultdelivery
 *
 * The work is local_main() (local_main.c, which describes it); qmail-lspawn
 * runs the same function in its delivery children without exec'ing this
 * program.  Kept for compatibility and for running a delivery by hand.
 */
#include "local_main.h"

int main(int argc, char **argv) { local_main(argc, argv); }
