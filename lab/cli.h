/*
 * cli.h: command-line helpers shared by the laboratory's tools.
 */
#ifndef LAB_CLI_H
#define LAB_CLI_H

/*
 * The integer value of option opt in min..max, parsed strictly by the
 * project's own valid_int (lib/valid.c); anything else is a usage error:
 * a message naming prog and opt, and exit status 2.
 */
#include <signal.h>

/* Set by SIGINT or SIGTERM once cli_catch_stop() has run. */
extern volatile sig_atomic_t cli_stop;

/*
 * Makes SIGINT and SIGTERM set cli_stop (without SA_RESTART, so a blocking
 * call returns with EINTR), and ignores SIGPIPE.
 */
void	cli_catch_stop(void);

long	cli_long(const char *prog, const char *opt, const char *s, long min,
	    long max);

#endif /* LAB_CLI_H */
