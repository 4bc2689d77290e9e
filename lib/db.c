/*
 * db.c: the statement table and one bounded, lazily opened PostgreSQL
 * connection per worker.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "metrics.h"

struct db_stmt_def {
	const char	*name;		/* for logs */
	const char	*sql;		/* sent as an unnamed statement */
	int		 nparams;
	int		 formats[5];	/* 1 = binary parameter */
	bool		 idempotent;	/* may be retried on a stale connection */
	/*
	 * The same read as a named prepared statement (PG_PREPARE), under
	 * this name on the server, or NULL: always unnamed. Its parameters
	 * and columns are sql's.
	 */
	const char	*named;
	const char	*named_sql;
};

/* The highest process id Linux hands out (PID_MAX_LIMIT, 2^22). */
#define DB_PID_MAX	4194304

/*
 * The reads authenticate in the same round trip: the session is joined
 * in, so one query answers "who is this" and "what do they own". No rows
 * means no valid session (401); a row with a NULL persona means the
 * persona is not the caller's (404).
 */
static const struct db_stmt_def db_stmts[DB_STMT__MAX] = {
	/*
	 * The two hot reads are SQL functions of schema/postgres.sql that
	 * the planner inlines: prepared as named statements (PG_PREPARE, at
	 * their second use on a connection), they are planned once per
	 * connection; unnamed, they go through PL/pgSQL wrappers whose plans
	 * the server keeps per connection.
	 */
	[DB_PERSONAS_LIST] = { .name = "personas_list", .sql =
	    "SELECT * FROM personas_page_pl($1, $2::uuid, $3::int)",
	    .nparams = 3, .formats = { 1, 0, 0 }, .idempotent = true,
	    .named = "fpl_personas_list",
	    .named_sql = "SELECT * FROM personas_page($1, $2::uuid, $3::int)" },
	[DB_IDLE_VIDEO_GET] = { .name = "idle_video_get", .sql =
	    "SELECT * FROM idle_video_state_pl($1, $2::uuid)",
	    .nparams = 2, .formats = { 1, 0 }, .idempotent = true,
	    .named = "fpl_idle_video_get",
	    .named_sql = "SELECT * FROM idle_video_state($1, $2::uuid)" },
	/* The partial unique index keeps one active job per persona, across
	 * workers: a second insert returns no row. */
	[DB_JOB_CREATE] = { .name = "job_create", .sql =
	    "SELECT * FROM job_create($1::uuid, $2::int)",
	    .nparams = 2, .formats = { 0, 0 }, .idempotent = false },
	[DB_JOB_SET_PREDICTION] = { .name = "job_set_prediction", .sql =
	    "UPDATE jobs SET prediction_id = $2, updated_at = clock_timestamp()"
	    " WHERE id = $1::uuid",
	    .nparams = 2, .formats = { 0, 0 }, .idempotent = false },
	[DB_JOB_FAIL] = { .name = "job_fail", .sql =
	    "UPDATE jobs SET status = 'failed', error = $2,"
	    "       updated_at = clock_timestamp()"
	    " WHERE id = $1::uuid AND status IN ('starting', 'processing')",
	    .nparams = 2, .formats = { 0, 0 }, .idempotent = false },
	/* A dead event's job: it ends, so that the persona can start again. */
	[DB_JOB_FAIL_PREDICTION] = { .name = "job_fail_prediction", .sql =
	    "UPDATE jobs SET status = 'failed', error = $2,"
	    "       updated_at = clock_timestamp()"
	    " WHERE prediction_id = $1 AND status IN ('starting', 'processing')",
	    .nparams = 2, .formats = { 0, 0 }, .idempotent = false },
	[DB_JOB_BY_PREDICTION] = { .name = "job_by_prediction", .sql =
	    "SELECT j.persona_id, p.user_id, j.id, j.status FROM jobs j"
	    "  JOIN personas p ON p.id = j.persona_id"
	    " WHERE j.prediction_id = $1",
	    .nparams = 1, .formats = { 0 }, .idempotent = true },
	/*
	 * One provider event, applied once: only an active job moves, never
	 * backwards (processing never returns to starting), and a success
	 * stores the video at most once per persona. Returns whether the
	 * prediction is known and how many rows moved.
	 */
	[DB_EVENT_APPLY] = { .name = "event_apply", .sql =
	    "WITH j AS ("
	    "  UPDATE jobs SET status = $2, error = $3, prediction_id = $1,"
	    "         updated_at = clock_timestamp()"
	    "   WHERE (prediction_id = $1 OR"
	    "          (id = $5::uuid AND prediction_id IS NULL))"
	    "     AND status IN ('starting', 'processing')"
	    "     AND NOT (status = 'processing' AND $2 = 'starting')"
	    "     AND ($2 <> 'succeeded' OR $4::text IS NOT NULL)"
	    "  RETURNING id, persona_id),"
	    " v AS ("
	    "  INSERT INTO idle_videos (persona_id, video_url, job_id)"
	    "  SELECT persona_id, $4, id FROM j WHERE $2 = 'succeeded'"
	    "  ON CONFLICT (persona_id) DO NOTHING RETURNING persona_id)"
	    "SELECT EXISTS (SELECT 1 FROM jobs WHERE prediction_id = $1"
	    "               OR id = $5::uuid),"
	    "       (SELECT count(*) FROM j), (SELECT count(*) FROM v)",
	    .nparams = 5, .formats = { 0, 0, 0, 0, 0 }, .idempotent = true },
	/*
	 * Active jobs without news for $1 s whose prediction was not asked
	 * about for as long either: each is marked asked now, so that a
	 * failed question is not repeated before another $1 s. Those never
	 * asked go first, then the least recently asked: jobs the provider
	 * keeps refusing cannot starve the others.
	 */
	[DB_JOBS_TO_RECONCILE] = { .name = "jobs_to_reconcile", .sql =
	    "UPDATE jobs SET checked_at = clock_timestamp() WHERE id IN ("
	    "  SELECT id FROM jobs"
	    "   WHERE status IN ('starting', 'processing')"
	    "     AND prediction_id IS NOT NULL"
	    "     AND updated_at < now() - make_interval(secs => $1::int)"
	    "     AND (checked_at IS NULL OR"
	    "          checked_at < now() - make_interval(secs => $1::int))"
	    "   ORDER BY checked_at NULLS FIRST, updated_at"
	    "   LIMIT $2::int FOR UPDATE SKIP LOCKED)"
	    " RETURNING prediction_id",
	    .nparams = 2, .formats = { 0, 0 }, .idempotent = false },
	/*
	 * No job stays active forever: one still without a prediction after
	 * $1 s (its start died or lost its answer), or without news from
	 * the provider for $2 s, ends as failed.
	 */
	[DB_JOBS_SWEEP] = { .name = "jobs_sweep", .sql =
	    "UPDATE jobs j SET status = 'failed',"
	    "       error = CASE WHEN j.prediction_id IS NULL"
	    "               THEN 'no prediction within the start timeout'"
	    "               ELSE 'no news from the provider within the maximum"
	    " age' END,"
	    "       updated_at = clock_timestamp()"
	    "  FROM personas p"
	    " WHERE p.id = j.persona_id"
	    "   AND j.status IN ('starting', 'processing')"
	    "   AND ((j.prediction_id IS NULL AND"
	    "         j.created_at < now() - make_interval(secs => $1::int))"
	    "     OR j.updated_at < now() - make_interval(secs => $2::int))"
	    " RETURNING j.id, j.persona_id, p.user_id, j.prediction_id",
	    .nparams = 2, .formats = { 0, 0 }, .idempotent = false },
	/* Can PostgreSQL answer this worker now? (/api/health) */
	[DB_PING] = { .name = "ping", .sql = "SELECT 1",
	    .nparams = 0, .formats = { 0 }, .idempotent = true },
	[DB_TX_BEGIN] = { .name = "begin", .sql = "BEGIN",
	    .nparams = 0, .formats = { 0 }, .idempotent = true },
	[DB_TX_DURABLE] = { .name = "durable", .sql =
	    "SET LOCAL synchronous_commit TO on",
	    .nparams = 0, .formats = { 0 }, .idempotent = false },
	[DB_TX_COMMIT] = { .name = "commit", .sql = "COMMIT",
	    .nparams = 0, .formats = { 0 }, .idempotent = false },
	[DB_TX_ROLLBACK] = { .name = "rollback", .sql = "ROLLBACK",
	    .nparams = 0, .formats = { 0 }, .idempotent = false },
};

static const char *const db_reasons[DB_STATUS__MAX] = {
	"ok",			/* DB_OK */
	"unavailable",		/* DB_UNAVAILABLE */
	"too_many_clients",	/* DB_TOO_MANY_CLIENTS */
	"pool_timeout",		/* DB_POOL_TIMEOUT */
	"timeout",		/* DB_TIMEOUT */
	"transient",		/* DB_TRANSIENT */
	"query_error",		/* DB_QUERY_ERROR */
};

struct db {
	PGconn		*conn;		/* NULL when not connected */
	char		*conninfo;
	char		*appname;
	int		 connect_ms;
	int		 statement_ms;
	enum db_prepare	 prepare;	/* PG_PREPARE */
	bool		 named;		/* this connection takes named ones */
	uint32_t	 used;		/* bit 1 << stmt: sent on it once */
	uint32_t	 prepared;	/* bit 1 << stmt: prepared on it */
	int64_t		 last_used_us;	/* monotonic, end of last use */
	unsigned long	 queries;	/* statements sent */
};

_Static_assert(DB_STMT__MAX <= 32, "db->prepared has a bit per statement");

struct db *
db_new(const char *conninfo, const char *appname, int connect_ms,
    int statement_ms, enum db_prepare prepare)
{
	struct db	*db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->conninfo = strdup(conninfo);
	db->appname = strdup(appname);
	if (db->conninfo == NULL || db->appname == NULL) {
		db_free(db);
		return NULL;
	}
	db->connect_ms = connect_ms;
	db->statement_ms = statement_ms;
	db->prepare = (unsigned)prepare < DB_PREPARE__MAX ? prepare :
	    DB_PREPARE_OFF;
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_close(db);
	free(db->conninfo);
	free(db->appname);
	free(db);
}

void
db_close(struct db *db)
{
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
		metrics_pg_disconnect();
	}
}

bool
db_connected(const struct db *db)
{
	return db->conn != NULL;
}

/*
 * Whether the connection reaches a PostgreSQL backend of its own, which
 * keeps the statements prepared on it, rather than a transaction pooler.
 * The backend key data of the startup names the server process (which
 * pg_backend_pid() returns); PgBouncer, which hands each transaction
 * whichever server connection is free, sends its own random key instead
 * (so does any transaction pooler: a client is not tied to one backend),
 * and a random 32-bit number is a process id Linux could hand out (1 to
 * 2^22) once in 1024 logins. That once, the first execution on another
 * server connection fails as "prepared statement does not exist" and
 * db_exec_once turns them off for the connection (asking the server,
 * SELECT pg_backend_pid(), would cost a statement per connection: plain
 * CGI would send two per request).
 */
static bool
db_backend_is_process(PGconn *conn)
{
	int pid = PQbackendPID(conn);

	return pid > 0 && pid <= DB_PID_MAX;
}

int64_t
db_idle_left_us(const struct db *db, int idle_s)
{
	int64_t left = db->last_used_us + (int64_t)idle_s * 1000000 -
	    clock_mono_us();

	return left > 0 ? left : 0;
}

void
db_close_idle(struct db *db, int idle_s)
{
	if (db->conn != NULL && db_idle_left_us(db, idle_s) == 0) {
		log_msg(LOG_DEBUG, "db: closing connection idle for %d s",
		    idle_s);
		db_close(db);
	}
}

unsigned long
db_queries(const struct db *db)
{
	return db->queries;
}

const char *
db_stmt_name(enum db_stmt s)
{
	return (unsigned)s < DB_STMT__MAX ? db_stmts[s].name : "?";
}

const char *
db_status_reason(enum db_status st)
{
	return st < DB_STATUS__MAX ? db_reasons[st] : "unknown";
}

/*
 * libpq's messages end in a newline and may span lines; logs want one.
 */
static void
db_log_failure(const char *what, const char *msg)
{
	char	 buf[512];
	size_t	 n;

	snprintf(buf, sizeof(buf), "%s", msg != NULL ? msg : "");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
	log_warnx("db: %s: %s", what, buf);
}

/*
 * Sorts a connection-level failure by its text: libpq gives no SQLSTATE
 * for a refused startup, and PgBouncer's FATALs close the socket.
 */
static enum db_status
db_classify(const char *msg)
{
	if (msg == NULL)
		return DB_UNAVAILABLE;
	if (strstr(msg, "too many clients") != NULL ||
	    strstr(msg, "remaining connection slots") != NULL)
		return DB_TOO_MANY_CLIENTS;
	if (strstr(msg, "query_wait_timeout") != NULL ||
	    strstr(msg, "no more connections allowed") != NULL)
		return DB_POOL_TIMEOUT;
	if (strstr(msg, "timeout expired") != NULL)
		return DB_TIMEOUT;
	return DB_UNAVAILABLE;
}

/*
 * Sorts a refused statement by its SQLSTATE: what may pass when tried
 * again (a serialization failure, a deadlock, a lock not available, a
 * shortage, the server shutting down) apart from what never will (bad
 * data, a constraint, a wrong statement).
 */
static enum db_status
db_classify_state(const char *state)
{
	if (state == NULL || strlen(state) != 5)
		return DB_QUERY_ERROR;
	if (strcmp(state, "57014") == 0)	/* statement_timeout */
		return DB_TIMEOUT;
	if (strncmp(state, "40", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	    strncmp(state, "08", 2) == 0 || strcmp(state, "55P03") == 0 ||
	    strncmp(state, "57P", 3) == 0)
		return DB_TRANSIENT;
	return DB_QUERY_ERROR;
}

bool
db_status_permanent(enum db_status st)
{
	return st == DB_QUERY_ERROR;
}

/*
 * Waits until the socket is ready for reading (or writing) or the deadline
 * passes. Returns 1 when ready, 0 on timeout, -1 on error.
 */
static int
db_wait(int fd, bool for_write, int64_t deadline_us)
{
	struct pollfd	 pfd = { .fd = fd, .events = for_write ? POLLOUT : POLLIN };
	int		 rc;

	for (;;) {
		int64_t left = deadline_us - clock_mono_us();

		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (rc >= 0)
			return rc > 0 ? 1 : 0;
		if (errno != EINTR)
			return -1;
	}
}

static enum db_status
db_connect(struct db *db)
{
	const char *const	 kw[] = { "dbname", "application_name", NULL };
	const char *const	 val[] = { db->conninfo, db->appname, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t			 deadline = clock_mono_us() +
				    (int64_t)db->connect_ms * 1000;
	enum db_status		 ret;

	db->conn = PQconnectStartParams(kw, val, 1);
	if (db->conn == NULL) {
		log_warnx("db: connect: out of memory");
		metrics_pg_connect(DB_UNAVAILABLE);
		return DB_UNAVAILABLE;
	}
	while (PQstatus(db->conn) != CONNECTION_BAD) {
		int rc;

		if (st == PGRES_POLLING_OK) {
			db->last_used_us = clock_mono_us();
			db->used = db->prepared = 0;
			db->named = db->prepare == DB_PREPARE_ON ||
			    (db->prepare == DB_PREPARE_AUTO &&
			    db_backend_is_process(db->conn));
			log_msg(LOG_DEBUG, "db: connected, backend key %d, "
			    "named statements %s", PQbackendPID(db->conn),
			    db->named ? "on" : "off");
			metrics_pg_connect(DB_OK);
			return DB_OK;
		}
		if (st == PGRES_POLLING_FAILED)
			break;
		rc = db_wait(PQsocket(db->conn), st == PGRES_POLLING_WRITING,
		    deadline);
		if (rc == 0) {
			log_warnx("db: connect: no answer within %d ms",
			    db->connect_ms);
			db_close(db);
			metrics_pg_connect(DB_TIMEOUT);
			return DB_TIMEOUT;
		}
		if (rc < 0)
			break;
		st = PQconnectPoll(db->conn);
	}
	db_log_failure("connect", PQerrorMessage(db->conn));
	ret = db_classify(PQerrorMessage(db->conn));
	db_close(db);
	metrics_pg_connect(ret);
	return ret;
}

/*
 * Waits, within the deadline, for the answer to what was just sent, and
 * reads it to its end: *first is its first result (NULL if none came),
 * which the caller PQclear()s. Returns DB_OK, or DB_TIMEOUT (the
 * connection is closed: the server ends the statement by its own
 * statement_timeout) or DB_UNAVAILABLE with *lost set.
 */
static enum db_status
db_wait_result(struct db *db, const char *what, int64_t deadline,
    PGresult **first, bool *lost)
{
	PGresult	*r;

	*first = NULL;
	while (PQisBusy(db->conn)) {
		int rc = db_wait(PQsocket(db->conn), false, deadline);

		if (rc == 0) {
			log_warnx("db: %s: no result within %d ms", what,
			    db->statement_ms);
			db_close(db);
			return DB_TIMEOUT;
		}
		if (rc < 0 || !PQconsumeInput(db->conn)) {
			*lost = true;
			return DB_UNAVAILABLE;
		}
	}
	/* Collect the result, then drain to the end of the command. */
	while ((r = PQgetResult(db->conn)) != NULL) {
		if (*first == NULL)
			*first = r;
		else
			PQclear(r);
	}
	return DB_OK;
}

/* Whether a result is an error of the given SQLSTATE. */
static bool
db_result_state(const PGresult *r, const char *state)
{
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	return s != NULL && strcmp(s, state) == 0;
}

/*
 * Named statements off for the rest of this connection: the server did
 * not keep one it was given (26000) or already had it (42P05), so the
 * connection goes through a pooler after all. Only outside a transaction,
 * which the error would have aborted; returns whether it turned them off.
 */
static bool
db_named_off(struct db *db, const struct db_stmt_def *def, const char *why)
{
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		return false;
	log_msg(LOG_INFO, "db: %s: %s (a pooler between us and the server?): "
	    "unnamed statements on this connection", def->name, why);
	db->named = false;
	return true;
}

/*
 * Prepares a statement under its name on this connection, within the
 * deadline. Returns DB_OK when it is prepared, or when named statements
 * turned out to be off here (db->named false: send it unnamed); a failure
 * status otherwise, with *lost saying whether the connection is at fault.
 */
static enum db_status
db_prepare_named(struct db *db, const struct db_stmt_def *def,
    enum db_stmt stmt, int64_t deadline, bool *lost)
{
	PGresult	*r = NULL;
	enum db_status	 ret;

	if (!PQsendPrepare(db->conn, def->named, def->named_sql, def->nparams,
	    NULL))
		goto lost;
	if ((ret = db_wait_result(db, def->name, deadline, &r, lost)) ==
	    DB_TIMEOUT)
		return ret;
	if (ret != DB_OK || r == NULL || PQstatus(db->conn) != CONNECTION_OK)
		goto lost;
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		db->prepared |= 1u << stmt;
	else if (!db_result_state(r, "42P05") ||
	    !db_named_off(db, def, "already prepared")) {
		db_log_failure(def->name, PQresultErrorMessage(r));
		ret = db_classify_state(PQresultErrorField(r,
		    PG_DIAG_SQLSTATE));
	}
	PQclear(r);
	return ret;
lost:
	*lost = true;
	ret = db_classify(r != NULL ? PQresultErrorMessage(r) :
	    PQerrorMessage(db->conn));
	db_log_failure(def->name, r != NULL ? PQresultErrorMessage(r) :
	    PQerrorMessage(db->conn));
	PQclear(r);
	db_close(db);
	return ret == DB_TIMEOUT ? DB_UNAVAILABLE : ret;
}

/*
 * Sends one statement and waits for its result within the statement
 * deadline; a hot read goes as its named statement when the connection
 * takes them, from its second use on the connection (prepared first, once,
 * an extra round trip): a connection that serves one request (plain CGI,
 * a process per request) never pays for a prepare it would use once.
 * *lost says whether the failure was the connection's.
 */
static enum db_status
db_exec_once(struct db *db, const struct db_stmt_def *def,
    const char *const *values, const int *lengths, PGresult **res, bool *lost)
{
	int64_t		 deadline = clock_mono_us() +
			    (int64_t)db->statement_ms * 1000;
	enum db_stmt	 stmt = (enum db_stmt)(def - db_stmts);
	PGresult	*first = NULL;
	enum db_status	 ret;
	bool		 named;
	int		 sent;

	*lost = false;
again:
	named = db->named && def->named != NULL &&
	    (db->used & (1u << stmt)) != 0;
	db->used |= 1u << stmt;
	if (named && (db->prepared & (1u << stmt)) == 0) {
		if ((ret = db_prepare_named(db, def, stmt, deadline, lost)) !=
		    DB_OK)
			return ret;
		named = db->named;
	}
	db->queries++;
	metrics_pg_query(stmt);
	if (named)
		sent = PQsendQueryPrepared(db->conn, def->named, def->nparams,
		    values, lengths, def->formats, 0);
	else
		sent = PQsendQueryParams(db->conn, def->sql, def->nparams, NULL,
		    values, lengths, def->formats, 0);
	if (!sent) {
		*lost = true;
		goto fail;
	}
	if ((ret = db_wait_result(db, def->name, deadline, &first, lost)) ==
	    DB_TIMEOUT)
		return ret;
	if (ret != DB_OK)
		goto fail;
	if (first != NULL && (PQresultStatus(first) == PGRES_TUPLES_OK ||
	    PQresultStatus(first) == PGRES_COMMAND_OK)) {
		db->last_used_us = clock_mono_us();
		*res = first;
		return DB_OK;
	}
	if (first != NULL && PQstatus(db->conn) == CONNECTION_OK) {
		const char *state = PQresultErrorField(first, PG_DIAG_SQLSTATE);

		/* Nothing ran: the same statement, unnamed. */
		if (named && db_result_state(first, "26000") &&
		    db_named_off(db, def, "prepared statement unknown")) {
			PQclear(first);
			first = NULL;
			goto again;
		}
		db_log_failure(def->name, PQresultErrorMessage(first));
		ret = db_classify_state(state);
		PQclear(first);
		db->last_used_us = clock_mono_us();
		return ret;
	}
	*lost = true;
fail:
	ret = db_classify(first != NULL ? PQresultErrorMessage(first) :
	    PQerrorMessage(db->conn));
	db_log_failure(def->name, first != NULL ?
	    PQresultErrorMessage(first) : PQerrorMessage(db->conn));
	PQclear(first);
	db_close(db);
	return ret == DB_TIMEOUT ? DB_UNAVAILABLE : ret;
}

enum db_status
db_exec(struct db *db, enum db_stmt stmt, const char *const *values,
    const int *lengths, PGresult **res)
{
	const struct db_stmt_def *def;
	enum db_status	 st;
	bool		 reused, lost;

	if ((unsigned)stmt >= DB_STMT__MAX)
		abort();
	def = &db_stmts[stmt];
	*res = NULL;
	reused = db->conn != NULL;
	if (!reused && (st = db_connect(db)) != DB_OK)
		return st;
	st = db_exec_once(db, def, values, lengths, res, &lost);
	/*
	 * A kept connection may have died while we waited in accept (server
	 * restart, pg_terminate_backend, pooler recycling). Reconnect and
	 * retry once; never after a pooler timeout, which would wait again.
	 */
	if (st == DB_UNAVAILABLE && lost && reused && def->idempotent) {
		log_msg(LOG_INFO, "db: %s: kept connection lost, reconnecting",
		    def->name);
		if ((st = db_connect(db)) != DB_OK)
			return st;
		st = db_exec_once(db, def, values, lengths, res, &lost);
	}
	return st;
}

enum db_status
db_exec_durable(struct db *db, enum db_stmt stmt, const char *const *values,
    const int *lengths, PGresult **res)
{
	PGresult	*r;
	enum db_status	 st;
	bool		 lost;

	if ((unsigned)stmt >= DB_STMT__MAX)
		abort();
	*res = NULL;
	/* BEGIN may reconnect a stale connection; nothing after it may. */
	if ((st = db_exec(db, DB_TX_BEGIN, NULL, NULL, &r)) != DB_OK)
		return st;
	PQclear(r);
	st = db_exec_once(db, &db_stmts[DB_TX_DURABLE], NULL, NULL, &r, &lost);
	if (st == DB_OK) {
		PQclear(r);
		st = db_exec_once(db, &db_stmts[stmt], values, lengths, res,
		    &lost);
	}
	if (st == DB_OK) {
		st = db_exec_once(db, &db_stmts[DB_TX_COMMIT], NULL, NULL, &r,
		    &lost);
		if (st == DB_OK)
			PQclear(r);
		else {
			PQclear(*res);
			*res = NULL;
		}
		return st;
	}
	/* A refused statement leaves the transaction aborted: end it. */
	if (db->conn != NULL && db_exec_once(db, &db_stmts[DB_TX_ROLLBACK],
	    NULL, NULL, &r, &lost) == DB_OK)
		PQclear(r);
	return st;
}
