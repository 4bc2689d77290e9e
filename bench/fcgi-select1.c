/*
 * fcgi-select1: the PostgreSQL ceiling of the benchmarks.
 *
 * A trivial FastCGI responder that runs one `SELECT 1` per request with
 * PQexecParams (an unnamed statement, as lib/db.c sends its own) over one
 * libpq connection kept for the life of the process, and answers a small
 * JSON document with the same headers as the real workers. The application's
 * PostgreSQL path (uncached idle-video) is compared with it in the same run.
 *
 * Configuration: DATABASE_URL (a libpq conninfo string), read once at
 * start-up, before the first accept (libfcgi replaces the environment with
 * each request's parameters). A failed query reconnects once (PQreset) and
 * otherwise answers 503.
 *
 * Started by scripts/bench under spawn-fcgi + multiwatch, as www-data; built
 * by mk/bench.mk into build/bench/. Never part of the service.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

static const char head_fmt[] =
    "Status: %d %s\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: %d\r\n"
    "Cache-Control: no-store\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "\r\n";

/* Runs SELECT 1; returns its value, or -1 when the connection failed. */
static int
select1(PGconn *conn)
{
	PGresult	*res;
	int		 v = -1;

	res = PQexecParams(conn, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoi(PQgetvalue(res, 0, 0));
	else
		dprintf(STDERR_FILENO, "fcgi-select1: %s",
		    PQerrorMessage(conn));
	PQclear(res);
	return v;
}

static void
answer(FCGX_Request *fr, int status, const char *reason, const char *body)
{
	char	 head[sizeof(head_fmt) + 64];
	int	 blen = (int)strlen(body);
	int	 hlen = snprintf(head, sizeof(head), head_fmt, status, reason,
		    blen);

	FCGX_PutStr(head, hlen, fr->out);
	FCGX_PutStr(body, blen, fr->out);
}

int
main(void)
{
	const char	*url = getenv("DATABASE_URL");
	const char *const kw[] = { "dbname", "application_name", NULL };
	const char	*val[] = { NULL, "fcgi-select1", NULL };
	FCGX_Request	 fr;
	PGconn		*conn;
	char		 body[128];

	signal(SIGPIPE, SIG_IGN);
	if (url == NULL || *url == '\0') {
		dprintf(STDERR_FILENO, "fcgi-select1: DATABASE_URL is not set\n");
		return 1;
	}
	val[0] = url;
	conn = PQconnectdbParams(kw, val, 1);
	if (PQstatus(conn) != CONNECTION_OK)	/* retried per request */
		dprintf(STDERR_FILENO, "fcgi-select1: connect: %s",
		    PQerrorMessage(conn));
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		dprintf(STDERR_FILENO, "fcgi-select1: FCGX_Init failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		int v = PQstatus(conn) == CONNECTION_OK ? select1(conn) : -1;

		if (v < 0) {
			PQreset(conn);
			if (PQstatus(conn) == CONNECTION_OK)
				v = select1(conn);
		}
		if (v < 0)
			answer(&fr, 503, "Service Unavailable",
			    "{\"error\":\"db_unavailable\","
			    "\"message\":\"SELECT 1 failed.\"}");
		else {
			snprintf(body, sizeof(body), "{\"status\":\"not_started\","
			    "\"videoUrl\":null,\"jobId\":null,\"select\":%d}", v);
			answer(&fr, 200, "OK", body);
		}
		/*
		 * Closed as the workers close theirs (lib/fcgi_io.c): a
		 * request read to its end (the bench sends GETs, no body)
		 * without libfcgi's shutdown and wait for the front end's.
		 */
		if (!fr.keepConnection && FCGX_GetChar(fr.in) == EOF &&
		    FCGX_HasSeenEOF(fr.in))
			(void)FCGX_Detach(&fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	PQfinish(conn);
	return 0;
}
