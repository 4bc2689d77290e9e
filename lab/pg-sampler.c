/*
 * pg-sampler: PostgreSQL's own count of the application's connections,
 * sampled from outside the code under test.
 *
 *   pg-sampler --conninfo CONNINFO --out FILE.csv [--role app]
 *              [--interval-ms 50] [--max-seconds 600]
 *              [--pgbouncer CONNINFO]
 *
 * Every interval it reads pg_stat_activity over its own connection (meant to
 * be the superuser's, over the unix socket, so that it still gets in through
 * the reserved slots when the application's are all taken) and appends one
 * CSV line:
 *
 *   t_s,unix_ms,app_total,app_active,app_idle,clients,max_connections,
 *   reserved,pgb_clients,pgb_waiting,pgb_servers
 *
 * app_* count the backends of ROLE (all of them, running a statement,
 * idle or idle in transaction), clients every client backend (this
 * sampler's own included), max_connections and reserved are the server's
 * max_connections and superuser_reserved_connections: ROLE, not a
 * superuser, gets at most max_connections - reserved of them. With --pgbouncer it also reads
 * SHOW POOLS on that PgBouncer's admin console: its client connections
 * (the workers' connections), how many of them wait for a server
 * connection, and its server connections, of ROLE's pools only (another
 * role's, such as the laboratory's connect-probe, is not the workers'); the
 * columns stay empty without it. A tick whose server does not answer leaves its columns empty, and the
 * sampler reconnects at the next one.
 *
 * Stops on SIGTERM or SIGINT or after --max-seconds, then prints on
 * standard output {"samples":N,"peak_app":N,"peak_clients":N,
 * "max_connections":N,"peak_pgb_clients":N,"peak_pgb_waiting":N}, with
 * null for what it never saw.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "cli.h"

#define PROG	"pg-sampler"


static const char *const activity_sql =
    "SELECT count(*) FILTER (WHERE usename = $1),"
    "       count(*) FILTER (WHERE usename = $1 AND state = 'active'),"
    "       count(*) FILTER (WHERE usename = $1 AND state LIKE 'idle%'),"
    "       count(*) FILTER (WHERE backend_type = 'client backend'),"
    "       current_setting('max_connections')::int,"
    "       current_setting('superuser_reserved_connections')::int"
    "  FROM pg_stat_activity";

static void
usage(void)
{
	fprintf(stderr, "usage: %s --conninfo CONNINFO --out FILE.csv "
	    "[--role NAME] [--interval-ms MS] [--max-seconds S] "
	    "[--pgbouncer CONNINFO]\n", PROG);
	exit(2);
}

/* Returns a live connection, reconnecting (with a 1 s bound) if needed. */
static PGconn *
ensure_conn(PGconn **conn, const char *conninfo)
{
	const char *const kw[] = { "dbname", "connect_timeout",
	    "application_name", NULL };
	const char *const val[] = { conninfo, "1", PROG, NULL };

	if (*conn != NULL && PQstatus(*conn) == CONNECTION_OK)
		return *conn;
	PQfinish(*conn);
	*conn = PQconnectdbParams(kw, val, 1);
	if (PQstatus(*conn) != CONNECTION_OK) {
		PQfinish(*conn);
		*conn = NULL;
	}
	return *conn;
}

/* Column index by name, or -1. */
static int
col(PGresult *r, const char *name)
{
	return PQfnumber(r, name);
}

/* Prints ,"name":value for the summary, null when never seen (-1). */
static void
print_peak(const char *name, long v)
{
	if (v < 0)
		printf(",\"%s\":null", name);
	else
		printf(",\"%s\":%ld", name, v);
}

static long
field(PGresult *r, int row, int c)
{
	return c < 0 || PQgetisnull(r, row, c) ? 0 :
	    strtol(PQgetvalue(r, row, c), NULL, 10);
}

int
main(int argc, char **argv)
{
	const char	*conninfo = NULL, *out = NULL, *role = "app";
	const char	*pgb_info = NULL;
	long		 interval_ms = 50, max_s = 600;
	long		 samples = 0, peak_app = -1, peak_clients = -1;
	long		 maxconn = -1, peak_pgb = -1, peak_wait = -1;
	PGconn		*pg = NULL, *pgb = NULL;
	FILE		*f;
	struct timespec	 start, next, wall;
	int64_t		 start_ns;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			usage();
		if (strcmp(a, "--conninfo") == 0)
			conninfo = argv[++i];
		else if (strcmp(a, "--out") == 0)
			out = argv[++i];
		else if (strcmp(a, "--role") == 0)
			role = argv[++i];
		else if (strcmp(a, "--pgbouncer") == 0)
			pgb_info = argv[++i];
		else if (strcmp(a, "--interval-ms") == 0)
			interval_ms = cli_long(PROG, a, argv[++i], 10, 10000);
		else if (strcmp(a, "--max-seconds") == 0)
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
	fprintf(f, "t_s,unix_ms,app_total,app_active,app_idle,clients,"
	    "max_connections,reserved,pgb_clients,pgb_waiting,pgb_servers\n");
	fflush(f);

	cli_catch_stop();

	clock_gettime(CLOCK_MONOTONIC, &start);
	start_ns = (int64_t)start.tv_sec * 1000000000 + start.tv_nsec;
	next = start;
	while (!cli_stop) {
		char		 pgcols[128] = ",,,,,", pgbcols[96] = ",,";
		struct timespec	 now;
		int64_t		 now_ns;

		clock_gettime(CLOCK_MONOTONIC, &now);
		now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		if (now_ns - start_ns >= (int64_t)max_s * 1000000000)
			break;
		clock_gettime(CLOCK_REALTIME, &wall);

		if (ensure_conn(&pg, conninfo) != NULL) {
			const char *const params[] = { role };
			PGresult *r = PQexecParams(pg, activity_sql, 1, NULL,
			    params, NULL, NULL, 0);

			if (PQresultStatus(r) == PGRES_TUPLES_OK &&
			    PQntuples(r) == 1) {
				long app = field(r, 0, 0), cl = field(r, 0, 3);

				maxconn = field(r, 0, 4);
				snprintf(pgcols, sizeof(pgcols),
				    "%ld,%ld,%ld,%ld,%ld,%ld", app, field(r, 0, 1),
				    field(r, 0, 2), cl, maxconn, field(r, 0, 5));
				if (app > peak_app)
					peak_app = app;
				if (cl > peak_clients)
					peak_clients = cl;
			}
			PQclear(r);
		}
		if (pgb_info != NULL && ensure_conn(&pgb, pgb_info) != NULL) {
			/* The admin console speaks the simple protocol only. */
			PGresult *r = PQexec(pgb, "SHOW POOLS");

			if (PQresultStatus(r) == PGRES_TUPLES_OK) {
				long clients = 0, waiting = 0, servers = 0;
				int cdb = col(r, "database");
				int cuser = col(r, "user");

				for (int row = 0; row < PQntuples(r); row++) {
					if (cdb >= 0 && strcmp(PQgetvalue(r,
					    row, cdb), "pgbouncer") == 0)
						continue;
					if (cuser >= 0 && strcmp(PQgetvalue(r,
					    row, cuser), role) != 0)
						continue;
					clients += field(r, row,
					    col(r, "cl_active")) + field(r, row,
					    col(r, "cl_waiting"));
					waiting += field(r, row,
					    col(r, "cl_waiting"));
					servers += field(r, row,
					    col(r, "sv_active")) + field(r, row,
					    col(r, "sv_idle")) + field(r, row,
					    col(r, "sv_used")) + field(r, row,
					    col(r, "sv_tested")) + field(r, row,
					    col(r, "sv_login"));
				}
				snprintf(pgbcols, sizeof(pgbcols),
				    "%ld,%ld,%ld", clients, waiting, servers);
				if (clients > peak_pgb)
					peak_pgb = clients;
				if (waiting > peak_wait)
					peak_wait = waiting;
			} else {
				PQfinish(pgb);
				pgb = NULL;
			}
			PQclear(r);
		}
		fprintf(f, "%.3f,%lld,%s,%s\n", (double)(now_ns - start_ns) / 1e9,
		    (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000,
		    pgcols, pgbcols);
		fflush(f);
		samples++;

		/* The next tick on a fixed schedule; late ticks are skipped. */
		do {
			next.tv_nsec += interval_ms * 1000000;
			while (next.tv_nsec >= 1000000000) {
				next.tv_nsec -= 1000000000;
				next.tv_sec++;
			}
		} while ((int64_t)next.tv_sec * 1000000000 + next.tv_nsec <
		    now_ns);
		while (!cli_stop && clock_nanosleep(CLOCK_MONOTONIC,
		    TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	PQfinish(pg);
	PQfinish(pgb);
	if (fclose(f) != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, out, strerror(errno));
		return 1;
	}
	printf("{\"samples\":%ld", samples);
	print_peak("peak_app", peak_app);
	print_peak("peak_clients", peak_clients);
	print_peak("max_connections", maxconn);
	print_peak("peak_pgb_clients", peak_pgb);
	print_peak("peak_pgb_waiting", peak_wait);
	printf("}\n");
	return 0;
}
