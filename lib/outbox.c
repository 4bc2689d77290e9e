/*
 * outbox.c: the durable outbox file.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "outbox.h"
#include "sqlite_text.h"

/* schema/outbox.sql, compiled in by the Makefile. */
extern const char outbox_schema_sql[];

#define OUTBOX_SCHEMA_VERSION	1
#define OUTBOX_KEEP_DONE_S	86400	/* a repeated delivery stays a no-op */

enum outbox_stmt {
	OUTBOX_ADD,
	OUTBOX_NEXT,
	OUTBOX_LEASE,
	OUTBOX_LATER,
	OUTBOX_DONE,
	OUTBOX_PURGE,
	OUTBOX_BURY,
	OUTBOX_RETRY,
	OUTBOX_COUNTS,
	OUTBOX_LIST,
	OUTBOX_BEGIN,
	OUTBOX_COMMIT,
	OUTBOX_ROLLBACK,
	OUTBOX_STMT__MAX
};

/* The columns of struct outbox_event, in its order, for NEXT and LIST. */
#define OUTBOX_COLUMNS \
	"webhook_id, prediction_id, status, output_url, error, video_url," \
	" attempts, received_at, next_try_at, last_error, dead_at"

static const char *const outbox_sql[OUTBOX_STMT__MAX] = {
	/* OUTBOX_ADD: a repeated webhook-id changes nothing. */
	"INSERT INTO events (webhook_id, prediction_id, status, output_url,"
	" error, received_at, next_try_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
	" ON CONFLICT (webhook_id) DO NOTHING",
	/* OUTBOX_NEXT: the oldest due event (the partial index). */
	"SELECT " OUTBOX_COLUMNS " FROM events"
	" WHERE done_at IS NULL AND dead_at IS NULL AND next_try_at <= ?1"
	" ORDER BY next_try_at, received_at LIMIT 1",
	/* OUTBOX_LEASE */
	"UPDATE events SET next_try_at = ?2 WHERE webhook_id = ?1",
	/* OUTBOX_LATER */
	"UPDATE events SET next_try_at = ?2, attempts = attempts + ?3,"
	" last_error = ?4, video_url = coalesce(?5, video_url)"
	" WHERE webhook_id = ?1",
	/* OUTBOX_DONE */
	"UPDATE events SET done_at = ?2, last_error = NULL WHERE webhook_id = ?1",
	/* OUTBOX_PURGE */
	"DELETE FROM events WHERE done_at IS NOT NULL AND done_at < ?1",
	/* OUTBOX_BURY */
	"UPDATE events SET dead_at = ?2, last_error = ?3, attempts = attempts + 1"
	" WHERE webhook_id = ?1",
	/* OUTBOX_RETRY */
	"UPDATE events SET dead_at = NULL, attempts = 0, next_try_at = ?2"
	" WHERE webhook_id = ?1 AND dead_at IS NOT NULL",
	/* OUTBOX_COUNTS */
	"SELECT count(*) FILTER (WHERE dead_at IS NULL),"
	"       count(*) FILTER (WHERE dead_at IS NOT NULL)"
	"  FROM events WHERE done_at IS NULL",
	/* OUTBOX_LIST */
	"SELECT " OUTBOX_COLUMNS " FROM events WHERE done_at IS NULL"
	" ORDER BY received_at, webhook_id",
	"BEGIN IMMEDIATE",
	"COMMIT",
	"ROLLBACK",
};

struct outbox {
	sqlite3		*db;
	sqlite3_stmt	*st[OUTBOX_STMT__MAX];
	char		*path;
	dev_t		 dev;		/* of the file we opened */
	ino_t		 ino;
};

void
outbox_close(struct outbox *o)
{
	if (o == NULL)
		return;
	for (int i = 0; i < OUTBOX_STMT__MAX; i++)
		sqlite3_finalize(o->st[i]);
	sqlite3_close_v2(o->db);
	free(o->path);
	free(o);
}

/* Reads PRAGMA user_version, or -1. */
static int
outbox_version(sqlite3 *db)
{
	sqlite3_stmt	*q;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

struct outbox *
outbox_open(const char *path, int busy_timeout_ms, bool create)
{
	struct outbox	*o;
	struct stat	 sb;
	char		*msg = NULL;
	int		 rc, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->path = strdup(path)) == NULL) {
		free(o);
		log_warnx("outbox: out of memory");
		return NULL;
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &o->db, flags, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(o->db, 1);
	sqlite3_busy_timeout(o->db, busy_timeout_ms);
	/*
	 * synchronous=FULL before anything is prepared: SQLite takes the
	 * setting into a statement when it prepares it, so a statement
	 * prepared earlier would commit without an fsync.
	 */
	rc = sqlite3_exec(o->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL;"
	    "PRAGMA cache_size=-256;", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	if (outbox_version(o->db) != OUTBOX_SCHEMA_VERSION) {
		if (!create) {
			log_warnx("outbox: %s has no outbox schema: the engine "
			    "creates it (video-complete --engine)", path);
			goto fail_quiet;
		}
		rc = sqlite3_exec(o->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(o->db, outbox_schema_sql, NULL, NULL,
			    &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(o->db, "COMMIT", NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	}
	for (int i = 0; i < OUTBOX_STMT__MAX; i++) {
		rc = sqlite3_prepare_v3(o->db, outbox_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &o->st[i], NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (stat(path, &sb) != 0) {
		log_warn("outbox: stat %s", path);
		goto fail_quiet;
	}
	o->dev = sb.st_dev;
	o->ino = sb.st_ino;
	return o;
fail:
	log_warnx("outbox: open %s: %s", path, msg != NULL ? msg :
	    o->db != NULL ? sqlite3_errmsg(o->db) : sqlite3_errstr(rc));
fail_quiet:
	sqlite3_free(msg);
	outbox_close(o);
	return NULL;
}

/*
 * Whether the file at the path is still the one we hold: a removed or
 * replaced file must not receive events that nobody would ever read.
 */
bool
outbox_intact(struct outbox *o)
{
	struct stat	 sb;

	if (stat(o->path, &sb) != 0) {
		log_warn("outbox: %s", o->path);
		return false;
	}
	if (sb.st_dev != o->dev || sb.st_ino != o->ino) {
		log_warnx("outbox: %s was replaced under us", o->path);
		return false;
	}
	return true;
}

static void
outbox_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Steps a write statement to completion; false (logged) on failure. */
static bool
outbox_write(struct outbox *o, enum outbox_stmt which, const char *what)
{
	sqlite3_stmt	*st = o->st[which];
	int		 rc = sqlite3_step(st);

	outbox_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("outbox: %s: %s", what, sqlite3_errmsg(o->db));
		return false;
	}
	return true;
}

/* Binds text, or SQL NULL for NULL and "". */
static void
outbox_bind_text(sqlite3_stmt *st, int col, const char *s)
{
	if (s != NULL && *s != '\0')
		sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

/* Reads a row of OUTBOX_COLUMNS. */
static void
outbox_row(sqlite3_stmt *st, struct outbox_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	sqlite_text_copy(st, 0, ev->webhook_id, sizeof(ev->webhook_id));
	sqlite_text_copy(st, 1, ev->prediction_id, sizeof(ev->prediction_id));
	sqlite_text_copy(st, 2, ev->status, sizeof(ev->status));
	sqlite_text_copy(st, 3, ev->output_url, sizeof(ev->output_url));
	sqlite_text_copy(st, 4, ev->error, sizeof(ev->error));
	sqlite_text_copy(st, 5, ev->video_url, sizeof(ev->video_url));
	ev->attempts = sqlite3_column_int(st, 6);
	ev->received_at = sqlite3_column_int64(st, 7);
	ev->next_try_at = sqlite3_column_int64(st, 8);
	sqlite_text_copy(st, 9, ev->last_error, sizeof(ev->last_error));
	ev->dead = sqlite3_column_type(st, 10) != SQLITE_NULL;
}

#define OUTBOX_HOLDS(field, s) \
	(strlen(s) < sizeof(((struct outbox_event *)NULL)->field))

/*
 * Whether an event's text reads back whole into a struct outbox_event.
 * One that would not comes back cut to "" (outbox_copy_text), and an
 * event whose webhook id reads back wrong can be neither leased nor ended:
 * the engine would claim it again and again, ahead of every later event.
 * The workers never send such text; older files (the import) might hold
 * anything.
 */
static bool
outbox_holds(const char *webhook_id, const char *prediction_id,
    const char *status, const char *output_url, const char *error)
{
	return webhook_id != NULL && OUTBOX_HOLDS(webhook_id, webhook_id) &&
	    prediction_id != NULL &&
	    OUTBOX_HOLDS(prediction_id, prediction_id) &&
	    status != NULL && OUTBOX_HOLDS(status, status) &&
	    (output_url == NULL || OUTBOX_HOLDS(output_url, output_url)) &&
	    (error == NULL || OUTBOX_HOLDS(error, error));
}

enum outbox_added
outbox_add(struct outbox *o, const char *webhook_id, const char *prediction_id,
    const char *status, const char *output_url, const char *error,
    int64_t now)
{
	sqlite3_stmt	*st = o->st[OUTBOX_ADD];

	if (!outbox_holds(webhook_id, prediction_id, status, output_url,
	    error)) {
		log_warnx("outbox: add: event %.40s: no id, or text too long",
		    webhook_id != NULL ? webhook_id : "(null)");
		return OUTBOX_FAILED;
	}
	if (!outbox_intact(o))
		return OUTBOX_FAILED;
	sqlite3_bind_text(st, 1, webhook_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, prediction_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	outbox_bind_text(st, 4, output_url);
	outbox_bind_text(st, 5, error);
	sqlite3_bind_int64(st, 6, now);
	if (!outbox_write(o, OUTBOX_ADD, "add"))
		return OUTBOX_FAILED;
	return sqlite3_changes(o->db) > 0 ? OUTBOX_ADDED : OUTBOX_DUPLICATE;
}

bool
outbox_claim(struct outbox *o, int64_t now, int lease_s,
    struct outbox_event *ev)
{
	sqlite3_stmt	*st = o->st[OUTBOX_NEXT];
	int		 rc;
	bool		 ok;

	if (!outbox_write(o, OUTBOX_BEGIN, "begin"))
		return false;
	sqlite3_bind_int64(st, 1, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		outbox_row(st, ev);
	outbox_reset(st);
	ok = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warnx("outbox: next: %s", sqlite3_errmsg(o->db));
	if (ok) {
		st = o->st[OUTBOX_LEASE];
		sqlite3_bind_text(st, 1, ev->webhook_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now + lease_s);
		ok = outbox_write(o, OUTBOX_LEASE, "lease");
	}
	if (ok && outbox_write(o, OUTBOX_COMMIT, "commit"))
		return true;
	if (!sqlite3_get_autocommit(o->db))
		(void)outbox_write(o, OUTBOX_ROLLBACK, "rollback");
	return false;
}

bool
outbox_later(struct outbox *o, const struct outbox_event *ev,
    int64_t next_try_at, bool counted, const char *reason)
{
	sqlite3_stmt	*st = o->st[OUTBOX_LATER];

	sqlite3_bind_text(st, 1, ev->webhook_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, next_try_at);
	sqlite3_bind_int(st, 3, counted ? 1 : 0);
	outbox_bind_text(st, 4, reason);
	outbox_bind_text(st, 5, ev->video_url);
	return outbox_write(o, OUTBOX_LATER, "later");
}

bool
outbox_done(struct outbox *o, const char *webhook_id, int64_t now)
{
	sqlite3_stmt	*st = o->st[OUTBOX_DONE];

	sqlite3_bind_text(st, 1, webhook_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return outbox_write(o, OUTBOX_DONE, "done");
}

bool
outbox_purge(struct outbox *o, int64_t now)
{
	sqlite3_bind_int64(o->st[OUTBOX_PURGE], 1, now - OUTBOX_KEEP_DONE_S);
	return outbox_write(o, OUTBOX_PURGE, "purge");
}

bool
outbox_bury(struct outbox *o, const char *webhook_id, int64_t now,
    const char *reason)
{
	sqlite3_stmt	*st = o->st[OUTBOX_BURY];

	sqlite3_bind_text(st, 1, webhook_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	outbox_bind_text(st, 3, reason);
	return outbox_write(o, OUTBOX_BURY, "bury");
}

bool
outbox_retry(struct outbox *o, const char *webhook_id, int64_t now)
{
	sqlite3_stmt	*st = o->st[OUTBOX_RETRY];

	sqlite3_bind_text(st, 1, webhook_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return outbox_write(o, OUTBOX_RETRY, "retry") &&
	    sqlite3_changes(o->db) == 1;
}

bool
outbox_counts(struct outbox *o, int *pending, int *dead)
{
	sqlite3_stmt	*st = o->st[OUTBOX_COUNTS];
	int		 rc;

	*pending = *dead = -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*pending = sqlite3_column_int(st, 0);
		*dead = sqlite3_column_int(st, 1);
	}
	outbox_reset(st);
	if (rc != SQLITE_ROW)
		log_warnx("outbox: counts: %s", sqlite3_errmsg(o->db));
	return rc == SQLITE_ROW;
}

int
outbox_list(struct outbox *o, void (*fn)(const struct outbox_event *, void *),
    void *arg)
{
	sqlite3_stmt		*st = o->st[OUTBOX_LIST];
	struct outbox_event	 ev;
	int			 rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		outbox_row(st, &ev);
		fn(&ev, arg);
		n++;
	}
	outbox_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("outbox: list: %s", sqlite3_errmsg(o->db));
		return -1;
	}
	return n;
}

/*
 * Copies the legacy rows into our events in one transaction of ours.
 * Returns the number of rows copied, -1 on failure (nothing committed).
 */
static int
outbox_copy_legacy(struct outbox *o, sqlite3 *old, int64_t now)
{
	sqlite3_stmt	*q = NULL, *st = o->st[OUTBOX_ADD];
	int		 rc, n = 0;
	bool		 ok = true;

	rc = sqlite3_prepare_v2(old, "SELECT webhook_id, prediction_id, status,"
	    " output_url, error FROM outbox WHERE done_at IS NULL", -1, &q,
	    NULL);
	if (rc != SQLITE_OK)
		return -1;
	if (!outbox_write(o, OUTBOX_BEGIN, "begin")) {
		sqlite3_finalize(q);
		return -1;
	}
	while (ok && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char	*c[5];

		for (int i = 0; i < 5; i++)
			c[i] = (const char *)sqlite3_column_text(q, i);
		/* An event the engine could never handle: left out. */
		if (!outbox_holds(c[0], c[1], c[2], c[3], c[4])) {
			log_warnx("outbox: import: event %.40s left out: no id, "
			    "or text too long", c[0] != NULL ? c[0] : "(null)");
			continue;
		}
		for (int i = 0; i < 5; i++)
			sqlite3_bind_text(st, i + 1, c[i], -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 6, now);
		ok = outbox_write(o, OUTBOX_ADD, "import");
		n++;
	}
	sqlite3_finalize(q);
	if (ok && rc == SQLITE_DONE && outbox_write(o, OUTBOX_COMMIT, "commit"))
		return n;
	(void)outbox_write(o, OUTBOX_ROLLBACK, "rollback");
	return -1;
}

int
outbox_import_legacy(struct outbox *o, const char *cache_file, int64_t now)
{
	sqlite3		*old = NULL;
	sqlite3_stmt	*q = NULL;
	int		 n = 0;
	bool		 has_table = false;

	if (sqlite3_open_v2(cache_file, &old, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(old, 5000);
	if (sqlite3_prepare_v2(old, "SELECT 1 FROM sqlite_master WHERE"
	    " type = 'table' AND name = 'outbox'", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	has_table = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	if (!has_table) {
		sqlite3_close_v2(old);
		return 0;
	}
	if ((n = outbox_copy_legacy(o, old, now)) < 0)
		goto fail;
	/* Ours are on disk: the old table may go (a later failure to drop
	 * it only means importing the same events again, which is a no-op). */
	if (sqlite3_exec(old, "DROP TABLE outbox", NULL, NULL, NULL) !=
	    SQLITE_OK)
		log_warnx("outbox: %s: could not drop the old outbox: %s",
		    cache_file, sqlite3_errmsg(old));
	log_msg(LOG_INFO, "outbox: moved %d pending event(s) from %s", n,
	    cache_file);
	sqlite3_close_v2(old);
	return n;
fail:
	log_warnx("outbox: cannot import from %s: %s", cache_file,
	    old != NULL ? sqlite3_errmsg(old) : "cannot open");
	sqlite3_close_v2(old);
	return -1;
}
