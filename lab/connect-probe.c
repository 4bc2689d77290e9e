/*
 * connect-probe: what a new PostgreSQL connection costs a client, measured
 * from outside the code under test, while the laboratory's load runs.
 *
 *   connect-probe --conninfo CONNINFO --out FILE.csv [--interval-ms 200]
 *                 [--timeout-s 10] [--max-seconds 600]
 *
 * Again and again, one at a time, it opens a connection with libpq
 * (PQconnectdbParams: TCP, the startup packet, the authentication, up to
 * ReadyForQuery; the same path and the same kind of login as the workers,
 * given by CONNINFO: through the delay proxy, or through PgBouncer) and
 * closes it at once, without a statement; then it waits INTERVAL before the
 * next one. Each attempt appends one CSV line:
 *
 *   t_s,unix_ms,ms,ok,error
 *
 * t_s the seconds since the start at which the attempt began, ms how long
 * it took (to the connection or to its failure), ok 1 or 0, error empty or
 * the kind of failure: too_many_clients (SQLSTATE 53300: max_connections,
 * or the slots reserved for superusers), timeout (no answer within
 * --timeout-s), other.
 *
 * Stops on SIGTERM or SIGINT or after --max-seconds, then prints on
 * standard output {"probes":N,"ok":N,"failed":N,"ms":{"p50","p95","max"},
 * "errors":{"kind":n}}, the percentiles (nearest rank, as gallery-load's)
 * over the attempts that connected, null when none did.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "cli.h"

#define PROG	"connect-probe"
#define KINDS	3

static const char *const kinds[KINDS] = { "too_many_clients", "timeout",
    "other" };

static void
usage(void)
{
	fprintf(stderr, "usage: %s --conninfo CONNINFO --out FILE.csv "
	    "[--interval-ms MS] [--timeout-s S] [--max-seconds S]\n", PROG);
	exit(2);
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The kind of a failed connection, from libpq's message. */
static int
kind_of(const char *msg)
{
	if (strstr(msg, "too many clients") != NULL ||
	    strstr(msg, "remaining connection slots") != NULL)
		return 0;
	if (strstr(msg, "timeout expired") != NULL)
		return 1;
	return 2;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile P of the n sorted values. */
static double
rank(const double *v, size_t n, int p)
{
	size_t r = ((size_t)p * n + 99) / 100;

	return v[(r < 1 ? 1 : r) - 1];
}

int
main(int argc, char **argv)
{
	const char	*conninfo = NULL, *out = NULL, *timeout = "10";
	long		 interval_ms = 200, max_s = 600, timeout_s;
	long		 probes = 0, errors[KINDS] = { 0 };
	double		*ok_ms = NULL;
	size_t		 nok = 0, cap = 0;
	char		 tbuf[16];
	FILE		*f;
	int64_t		 start;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			usage();
		if (strcmp(a, "--conninfo") == 0)
			conninfo = argv[++i];
		else if (strcmp(a, "--out") == 0)
			out = argv[++i];
		else if (strcmp(a, "--interval-ms") == 0)
			interval_ms = cli_long(PROG, a, argv[++i], 0, 60000);
		else if (strcmp(a, "--timeout-s") == 0) {
			timeout_s = cli_long(PROG, a, argv[++i], 2, 600);
			snprintf(tbuf, sizeof(tbuf), "%ld", timeout_s);
			timeout = tbuf;
		} else if (strcmp(a, "--max-seconds") == 0)
			max_s = cli_long(PROG, a, argv[++i], 1, 86400);
		else
			usage();
	}
	if (conninfo == NULL || out == NULL)
		usage();
	if ((f = fopen(out, "w")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PROG, out, strerror(errno));
		return 1;
	}
	fprintf(f, "t_s,unix_ms,ms,ok,error\n");
	fflush(f);

	cli_catch_stop();
	start = mono_ns();
	while (!cli_stop && mono_ns() - start < (int64_t)max_s * 1000000000) {
		const char *const kw[] = { "dbname", "connect_timeout",
		    "application_name", NULL };
		const char *const val[] = { conninfo, timeout, PROG, NULL };
		struct timespec	 wall, pause;
		int64_t		 t0, t1;
		PGconn		*c;
		double		 ms;
		int		 ok, kind = -1;

		clock_gettime(CLOCK_REALTIME, &wall);
		t0 = mono_ns();
		c = PQconnectdbParams(kw, val, 1);
		t1 = mono_ns();
		ok = c != NULL && PQstatus(c) == CONNECTION_OK;
		if (!ok) {
			kind = kind_of(c != NULL ? PQerrorMessage(c) : "");
			errors[kind]++;
		}
		PQfinish(c);
		ms = (double)(t1 - t0) / 1e6;
		probes++;
		if (ok) {
			if (nok == cap) {
				double *n;

				cap = cap ? 2 * cap : 256;
				if ((n = realloc(ok_ms, cap * sizeof(*n))) ==
				    NULL) {
					fprintf(stderr, "%s: out of memory\n",
					    PROG);
					return 1;
				}
				ok_ms = n;
			}
			ok_ms[nok++] = ms;
		}
		fprintf(f, "%.3f,%lld,%.2f,%d,%s\n", (double)(t0 - start) / 1e9,
		    (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000, ms,
		    ok, ok ? "" : kinds[kind]);
		fflush(f);
		pause.tv_sec = interval_ms / 1000;
		pause.tv_nsec = (interval_ms % 1000) * 1000000;
		while (!cli_stop && nanosleep(&pause, &pause) == -1 &&
		    errno == EINTR)
			;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, out, strerror(errno));
		return 1;
	}
	printf("{\"probes\":%ld,\"ok\":%zu,\"failed\":%ld,\"ms\":", probes, nok,
	    probes - (long)nok);
	if (nok == 0)
		printf("{\"p50\":null,\"p95\":null,\"max\":null}");
	else {
		qsort(ok_ms, nok, sizeof(*ok_ms), cmp_double);
		printf("{\"p50\":%.1f,\"p95\":%.1f,\"max\":%.1f}",
		    rank(ok_ms, nok, 50), rank(ok_ms, nok, 95),
		    ok_ms[nok - 1]);
	}
	printf(",\"errors\":{");
	for (int k = 0, first = 1; k < KINDS; k++) {
		if (errors[k] == 0)
			continue;
		printf("%s\"%s\":%ld", first ? "" : ",", kinds[k], errors[k]);
		first = 0;
	}
	printf("}}\n");
	free(ok_ms);
	return 0;
}
