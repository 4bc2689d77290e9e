/*
 * cli.c: command-line helpers shared by the laboratory's tools.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "valid.h"

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
