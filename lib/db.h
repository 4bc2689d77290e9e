/*
 * db.h: one worker's PostgreSQL connection, like one serverless instance's.
 *
 * A worker holds at most one connection. It is opened lazily by the first
 * query, kept across requests, closed by db_close_idle() after an idle
 * timeout, and dropped after any failure so that the next query reconnects.
 * Every wait is bounded: the connect by the connect timeout, a query by the
 * statement timeout; past either the call fails with a status saying why.
 *
 * SQL is never assembled: statements are declared in one table in db.c,
 * named by enum db_stmt, and sent with PQexecParams semantics (unnamed
 * statements, which PgBouncer 1.18 in transaction mode can carry). The
 * hot reads may instead be prepared as named statements at their second
 * use on a connection and then only executed (enum db_prepare,
 * PG_PREPARE), where the connection reaches PostgreSQL itself; a server
 * that turns out not to know one it was given ("prepared statement does
 * not exist": a pooler after all) turns them off for the rest of that
 * connection, and the read is sent again unnamed.
 */
#ifndef DB_H
#define DB_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "attr.h"

enum db_stmt {
	DB_PERSONAS_LIST,	/* $1 token hash, $2 after id|NULL, $3 limit+1 */
	DB_IDLE_VIDEO_GET,	/* $1 token hash, $2 persona id */
	DB_JOB_CREATE,		/* $1 persona id, $2 generations per hour */
	DB_JOB_SET_PREDICTION,	/* $1 job id, $2 prediction id */
	DB_JOB_FAIL,		/* $1 job id, $2 error */
	DB_JOB_FAIL_PREDICTION,	/* $1 prediction id, $2 error */
	DB_JOB_BY_PREDICTION,	/* $1 prediction id */
	DB_EVENT_APPLY,		/* $1 prediction, $2 status, $3 error, $4 url,
				   $5 job id (or NULL) */
	DB_JOBS_TO_RECONCILE,	/* $1 seconds without news, $2 limit */
	DB_JOBS_SWEEP,		/* $1 start timeout s, $2 max age s */
	DB_PING,		/* SELECT 1: GET /api/health */
	DB_TX_BEGIN,		/* the rest are db_exec_durable()'s own */
	DB_TX_DURABLE,
	DB_TX_COMMIT,
	DB_TX_ROLLBACK,
	DB_STMT__MAX
};

/*
 * Named prepared statements for the hot reads (PG_PREPARE): planned once
 * per server connection instead of once per request. A transaction pooler
 * (PgBouncer 1.18) hands each transaction whichever server connection is
 * free, where the statement was never prepared: there they must be off.
 */
enum db_prepare {
	DB_PREPARE_AUTO,	/* on when the server's key names a process */
	DB_PREPARE_ON,		/* always (a server, or PgBouncer >= 1.21
				   with max_prepared_statements) */
	DB_PREPARE_OFF,		/* never: unnamed statements only */
	DB_PREPARE__MAX
};

enum db_status {
	DB_OK = 0,
	DB_UNAVAILABLE,		/* could not connect, or connection lost */
	DB_TOO_MANY_CLIENTS,	/* refused past max_connections (53300) */
	DB_POOL_TIMEOUT,	/* the pooler found no server in time */
	DB_TIMEOUT,		/* connect or statement deadline passed */
	DB_TRANSIENT,		/* a conflict or shortage: try again later */
	DB_QUERY_ERROR,		/* the server refused the statement's data */
	DB_STATUS__MAX
};

struct db;

/*
 * A handle that is not connected yet. conninfo (a libpq key=value string
 * or URI) and appname are copied. Returns NULL when out of memory.
 */
struct db	*db_new(const char *conninfo, const char *appname,
		    int connect_timeout_ms, int statement_timeout_ms,
		    enum db_prepare);
void		 db_free(struct db *);

/*
 * Runs a statement with text parameters (NULL for SQL NULL; lengths only
 * matter for binary parameters, which the table declares). On DB_OK, *res
 * holds the result, which the caller PQclear()s. Connects first if needed.
 * A failure leaves *res NULL, logs its reason and, if the connection is in
 * doubt, drops it.
 */
enum db_status	 db_exec(struct db *, enum db_stmt, const char *const *values,
		    const int *lengths, PGresult **res)
		    MUSTCHECK;

/*
 * The same inside its own transaction committed with synchronous_commit
 * on, whatever the server's default: for the writes that must survive an
 * immediate shutdown of PostgreSQL as soon as they are acknowledged
 * (events applied, jobs changed). Never retried on a new connection.
 */
enum db_status	 db_exec_durable(struct db *, enum db_stmt,
		    const char *const *values, const int *lengths,
		    PGresult **res) MUSTCHECK;

/*
 * Whether trying the same statement again later cannot help: the server
 * refused its data (SQLSTATE classes 22, 23, 42 and the like).
 */
bool		 db_status_permanent(enum db_status);

/* Closes the connection if it has been idle for idle_s seconds or more. */
void		 db_close_idle(struct db *, int idle_s);

/* Closes the connection now (no-op when not connected). */
void		 db_close(struct db *);

bool		 db_connected(const struct db *);


/* Microseconds until the connection reaches idle_s of idleness (>= 0). */
int64_t		 db_idle_left_us(const struct db *, int idle_s);

/* Statements sent to the server by this handle since db_new(). */
unsigned long	 db_queries(const struct db *);

/* A short token for logs and error bodies: "too_many_clients", ... */
const char	*db_status_reason(enum db_status);
/* A statement's name ("personas_list", ...), for logs and metrics. */
const char	*db_stmt_name(enum db_stmt);

#endif /* DB_H */
