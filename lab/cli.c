/*
 * cli.c: command-line helpers shared by the laboratory's tools.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "valid.h"

volatile sig_atomic_t cli_stop;

static void
cli_on_stop(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void
cli_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

long
cli_long(const char *prog, const char *opt, const char *s, long min, long max)
{
	long long	 v;

	if (!valid_int(s, min, max, &v)) {
		fprintf(stderr, "%s: %s must be an integer in %ld..%ld, not "
		    "'%s'\n", prog, opt, min, max, s);
		exit(2);
	}
	return (long)v;
}
