/*
 * cache.c: the shared SQLite cache and its self-repair.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cache.h"
#include "clock.h"
#include "log.h"
#include "sqlite_text.h"

/* schema/cache.sql, compiled in by the Makefile. */
extern const char cache_schema_sql[];

#define CACHE_SCHEMA_VERSION	3
#define CACHE_RECHECK_US	1000000	/* stat the file at most once a second */

enum cache_stmt {
	CACHE_LOOKUP,
	CACHE_PUT_SESSION,
	CACHE_PUT_VIDEO,
	CACHE_PUT_JOB,
	CACHE_JOB_BY_PREDICTION,
	CACHE_FORGET_SESSION,
	CACHE_BEGIN,
	CACHE_COMMIT,
	CACHE_ROLLBACK,
	CACHE_STMT__MAX
};

static const char *const cache_sql[CACHE_STMT__MAX] = {
	/* CACHE_LOOKUP: always exactly one row. */
	"SELECT s.user_id, s.expires_at, s.cached_until,"
	"       v.user_id, v.video_url, j.user_id, j.job_id, j.status,"
	"       j.prediction_id, j.updated_at"
	"  FROM (SELECT 1)"
	"  LEFT JOIN sessions s ON s.token_hash = ?1"
	"  LEFT JOIN videos v ON v.persona_id = ?2"
	"  LEFT JOIN jobs j ON j.persona_id = ?2",
	/* CACHE_PUT_SESSION */
	"INSERT INTO sessions (token_hash, user_id, expires_at, cached_until)"
	" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (token_hash) DO UPDATE SET"
	" user_id = excluded.user_id, expires_at = excluded.expires_at,"
	" cached_until = excluded.cached_until",
	/* CACHE_PUT_VIDEO: URLs are immutable, an equal row is not rewritten. */
	"INSERT INTO videos (persona_id, user_id, video_url, cached_at)"
	" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (persona_id) DO UPDATE SET"
	" user_id = excluded.user_id, video_url = excluded.video_url,"
	" cached_at = excluded.cached_at"
	" WHERE videos.video_url IS NOT excluded.video_url",
	/* CACHE_PUT_JOB */
	"INSERT INTO jobs (persona_id, user_id, job_id, prediction_id, status,"
	" updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	" ON CONFLICT (persona_id) DO UPDATE SET"
	" user_id = excluded.user_id, job_id = excluded.job_id,"
	" prediction_id = coalesce(excluded.prediction_id, jobs.prediction_id),"
	" status = excluded.status, updated_at = excluded.updated_at"
	/* An ended job never comes back from a late copy of older news. */
	" WHERE jobs.job_id IS NOT excluded.job_id"
	"    OR jobs.status IN ('starting', 'processing')",
	/* CACHE_JOB_BY_PREDICTION */
	"SELECT persona_id, user_id, job_id FROM jobs WHERE prediction_id = ?1",
	/* CACHE_FORGET_SESSION */
	"DELETE FROM sessions WHERE token_hash = ?1",
	"BEGIN IMMEDIATE",
	"COMMIT",
	"ROLLBACK",
};

struct cache {
	sqlite3		*db;			/* NULL while unusable */
	sqlite3_stmt	*st[CACHE_STMT__MAX];
	char		*path;
	int		 busy_ms;
	dev_t		 dev;			/* of the file we opened */
	ino_t		 ino;
	int64_t		 next_check_us;		/* monotonic */
	bool		 in_tx;
};

static void
cache_shut(struct cache *c)
{
	for (int i = 0; i < CACHE_STMT__MAX; i++) {
		sqlite3_finalize(c->st[i]);
		c->st[i] = NULL;
	}
	if (c->db != NULL)
		sqlite3_close_v2(c->db);
	c->db = NULL;
	c->in_tx = false;
}

/*
 * Errors after which the file itself is suspect. Our statements are fixed
 * and were prepared on our schema, so a plain SQLITE_ERROR from one means
 * that the file no longer holds that schema (truncated or rewritten under
 * us): reopening applies it again, or sets the file aside.
 */
static bool
cache_is_broken(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ||
	    rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN ||
	    rc == SQLITE_READONLY || rc == SQLITE_SCHEMA ||
	    rc == SQLITE_ERROR;
}

/*
 * Opens the file and brings its schema up to date. Returns an SQLite code;
 * on failure the handle is shut.
 */
static int
cache_try_open(struct cache *c)
{
	struct stat	 sb;
	char		*msg = NULL;
	int		 rc, version = -1, persist = 1;
	sqlite3_stmt	*q = NULL;

	rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, c->busy_ms);
	/*
	 * Never unlink the -wal file by name when this connection closes: a
	 * worker closing its handle on a removed or replaced file would
	 * otherwise delete the -wal of the new file that the other workers
	 * already write to, and their commits would vanish.
	 */
	sqlite3_file_control(c->db, NULL, SQLITE_FCNTL_PERSIST_WAL, &persist);
	/*
	 * synchronous=NORMAL: in WAL mode the file stays consistent and
	 * committed rows survive a crash of any worker; only a power loss
	 * may lose the last commits, which PostgreSQL or the outbox still
	 * has: nothing here is kept only here.
	 */
	/*
	 * A small page cache per worker (512 KiB, not SQLite's 2 MB): the
	 * file is small, the kernel caches it once for every worker, and a
	 * worker's memory is what the laboratory multiplies.
	 */
	rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL;"
	    "PRAGMA cache_size=-512;"
	    "PRAGMA journal_size_limit=8388608;", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &q, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW) {
		rc = sqlite3_errcode(c->db);
		goto fail;
	}
	if (version != CACHE_SCHEMA_VERSION) {
		rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(c->db, cache_schema_sql, NULL, NULL,
			    &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	}
	for (int i = 0; i < CACHE_STMT__MAX; i++) {
		rc = sqlite3_prepare_v3(c->db, cache_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (stat(c->path, &sb) == 0) {
		c->dev = sb.st_dev;
		c->ino = sb.st_ino;
	}
	log_msg(LOG_DEBUG, "cache: opened %s (SQLite %s)", c->path,
	    sqlite3_libversion());
	return SQLITE_OK;
fail:
	log_warnx("cache: open %s: %s", c->path, msg != NULL ? msg :
	    c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	sqlite3_free(msg);
	cache_shut(c);
	return rc != SQLITE_OK ? rc : SQLITE_ERROR;
}

/*
 * Sets a broken file aside (never deletes it: someone may want to look)
 * with its -wal and -shm, so that the next open starts afresh.
 */
static void
cache_set_aside(struct cache *c)
{
	char		 from[4096], to[4096];
	static const char *const sfx[] = { "", "-wal", "-shm" };
	long long	 stamp = (long long)clock_unix_s();	/* one for all three */

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", c->path, sfx[i]);
		snprintf(to, sizeof(to), "%s.broken-%lld-%ld%s", c->path,
		    stamp, (long)getpid(), sfx[i]);
		if (rename(from, to) == -1 && errno != ENOENT)
			log_warn("cache: rename %s", from);
	}
	log_warnx("cache: %s was broken: set aside, recreating", c->path);
}

/*
 * Takes the lock that serialises repairs across workers (a file beside the
 * cache, flock(2)), waiting at most the busy timeout. Returns its
 * descriptor, or -1 (the repair goes on unlocked rather than not at all).
 */
static int
cache_lock(struct cache *c)
{
	char	 path[4096];
	int	 fd;
	int64_t	 until = clock_mono_us() + (int64_t)c->busy_ms * 1000;

	snprintf(path, sizeof(path), "%s.lock", c->path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0660)) == -1)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    clock_mono_us() >= until) {
			close(fd);
			return -1;
		}
		usleep(10000);
	}
	return fd;
}

/*
 * Whether the file under an open handle still starts as an SQLite file
 * does: truncated or written over in place (same inode), it would go on
 * answering from this worker's page cache and the WAL for a while and
 * then fail at random. Read through SQLite's own descriptor (a descriptor
 * of ours, once closed, would drop the process's POSIX locks on the file).
 */
static bool
cache_header_sound(struct cache *c)
{
	static const char	 magic[16] = "SQLite format 3";
	sqlite3_file		*f = NULL;
	sqlite3_int64		 size = 0;
	char			 head[sizeof(magic)];

	if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_FILE_POINTER,
	    &f) != SQLITE_OK || f == NULL || f->pMethods == NULL)
		return true;		/* cannot tell: trust the steps */
	if (f->pMethods->xFileSize(f, &size) != SQLITE_OK)
		return true;
	if (size < (sqlite3_int64)sizeof(head) ||
	    f->pMethods->xRead(f, head, sizeof(head), 0) != SQLITE_OK)
		return false;
	return memcmp(head, magic, sizeof(magic)) == 0;
}

static bool
cache_log_beside(const char *path)
{
	struct stat	 sb;
	char		 wal[4096];

	snprintf(wal, sizeof(wal), "%s-wal", path);
	return stat(wal, &sb) == 0 && sb.st_size > 0;
}

/*
 * Opens the file afresh, under the lock that serialises repairs across
 * workers; whichever worker gets it first repairs, the others find the
 * new file when they get it:
 *  - a removed file may have left its -wal and -shm behind: a new file
 *    beside them would take the old file's log for its own, so they go;
 *  - a damaged file (this worker saw it fail as no database, or its header
 *    gone) is set aside, unless another worker already put a new file in
 *    its place (the path no longer names the inode this worker had); so is
 *    an empty file with a log beside it, a truncated one (a file we make
 *    has its header written before its log, under this lock).
 */
static void
cache_reopen(struct cache *c, bool damaged)
{
	struct stat	 sb;
	char		 side[4096];
	dev_t		 dev = c->dev;
	ino_t		 ino = c->ino;
	int		 rc, lock;

	cache_shut(c);
	lock = cache_lock(c);
	if (stat(c->path, &sb) == -1) {
		if (errno == ENOENT) {
			snprintf(side, sizeof(side), "%s-wal", c->path);
			(void)unlink(side);
			snprintf(side, sizeof(side), "%s-shm", c->path);
			(void)unlink(side);
		}
	} else if ((damaged && sb.st_dev == dev && sb.st_ino == ino) ||
	    (sb.st_size == 0 && cache_log_beside(c->path)))
		cache_set_aside(c);
	rc = cache_try_open(c);
	if (rc != SQLITE_OK && ((rc & 0xff) == SQLITE_NOTADB ||
	    (rc & 0xff) == SQLITE_CORRUPT)) {
		cache_set_aside(c);
		(void)cache_try_open(c);
	}
	if (lock != -1)
		close(lock);
	c->next_check_us = clock_mono_us() + CACHE_RECHECK_US;
}

/*
 * Makes sure that a usable database is open on the file at path, at
 * most once a second: reopens when the file was removed or replaced,
 * repairs it when it was truncated or written over in place.
 */
static bool
cache_ready(struct cache *c)
{
	struct stat	 sb;
	int64_t		 now;

	if (c->in_tx)
		return c->db != NULL;
	now = clock_mono_us();
	if (now < c->next_check_us)
		return c->db != NULL;
	c->next_check_us = now + CACHE_RECHECK_US;
	if (c->db != NULL && stat(c->path, &sb) == 0 &&
	    sb.st_dev == c->dev && sb.st_ino == c->ino) {
		if (cache_header_sound(c))
			return true;
		log_warnx("cache: %s was truncated or written over: "
		    "repairing", c->path);
		cache_reopen(c, true);
		return c->db != NULL;
	}
	if (c->db != NULL)
		log_warnx("cache: %s was removed or replaced: reopening",
		    c->path);
	cache_reopen(c, false);
	return c->db != NULL;
}

/* Inspects a failed step: a broken file is repaired now. */
static void
cache_failed(struct cache *c, const char *what, int rc)
{
	log_warnx("cache: %s: %s", what, c->db != NULL ?
	    sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	if (cache_is_broken(rc)) {
		c->in_tx = false;
		rc &= 0xff;
		cache_reopen(c, rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT);
	}
}

struct cache *
cache_open(const char *path, int busy_timeout_ms)
{
	struct cache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->path = strdup(path)) == NULL) {
		free(c);
		return NULL;
	}
	c->busy_ms = busy_timeout_ms;
	cache_reopen(c, false);
	return c;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	cache_shut(c);
	free(c->path);
	free(c);
}

bool
cache_usable(struct cache *c)
{
	return cache_ready(c);
}

bool
cache_lookup(struct cache *c, const unsigned char hash[AUTH_HASH_LEN],
    const char *persona_id, int64_t now, struct cache_entry *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	out->session = CACHE_SESSION_UNKNOWN;
	out->has_video = out->has_job = false;
	if (!cache_ready(c))
		return false;
	st = c->st[CACHE_LOOKUP];
	sqlite3_bind_blob(st, 1, hash, AUTH_HASH_LEN, SQLITE_STATIC);
	if (persona_id != NULL)
		sqlite3_bind_text(st, 2, persona_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			sqlite_text_copy(st, 0, out->user_id,
			    sizeof(out->user_id));
			if (sqlite3_column_int64(st, 1) <= now)
				out->session = CACHE_SESSION_EXPIRED;
			else if (sqlite3_column_int64(st, 2) > now)
				out->session = CACHE_SESSION_VALID;
		}
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			sqlite_text_copy(st, 3, out->video_owner,
			    sizeof(out->video_owner));
			sqlite_text_copy(st, 4, out->video_url,
			    sizeof(out->video_url));
			out->has_video = out->video_url[0] != '\0';
		}
		if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
			sqlite_text_copy(st, 5, out->job_owner,
			    sizeof(out->job_owner));
			sqlite_text_copy(st, 6, out->job_id,
			    sizeof(out->job_id));
			sqlite_text_copy(st, 7, out->job_status,
			    sizeof(out->job_status));
			sqlite_text_copy(st, 8, out->job_prediction,
			    sizeof(out->job_prediction));
			out->job_updated_at = sqlite3_column_int64(st, 9);
			out->has_job = true;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW) {
		cache_failed(c, "lookup", rc);
		return false;
	}
	return true;
}

/* Steps a write statement to completion and resets it. */
static bool
cache_write(struct cache *c, enum cache_stmt which, const char *what)
{
	sqlite3_stmt	*st = c->st[which];
	int		 rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		cache_failed(c, what, rc);
		return false;
	}
	return true;
}

bool
cache_put_session(struct cache *c, const unsigned char hash[AUTH_HASH_LEN],
    const char *user_id, int64_t expires_at, int64_t cached_until)
{
	sqlite3_stmt	*st;

	if (!cache_ready(c))
		return false;
	st = c->st[CACHE_PUT_SESSION];
	sqlite3_bind_blob(st, 1, hash, AUTH_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires_at);
	sqlite3_bind_int64(st, 4, cached_until < expires_at ?
	    cached_until : expires_at);
	return cache_write(c, CACHE_PUT_SESSION, "put session");
}

bool
cache_put_video(struct cache *c, const char *persona_id, const char *user_id,
    const char *url, int64_t now)
{
	sqlite3_stmt	*st;

	if (strlen(url) >= CACHE_URL_MAX || !cache_ready(c))
		return false;
	st = c->st[CACHE_PUT_VIDEO];
	sqlite3_bind_text(st, 1, persona_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	return cache_write(c, CACHE_PUT_VIDEO, "put video");
}

bool
cache_put_job(struct cache *c, const char *persona_id, const char *user_id,
    const char *job_id, const char *prediction_id, const char *status,
    int64_t now)
{
	sqlite3_stmt	*st;

	if (!cache_ready(c))
		return false;
	st = c->st[CACHE_PUT_JOB];
	sqlite3_bind_text(st, 1, persona_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, job_id, -1, SQLITE_STATIC);
	if (prediction_id != NULL)
		sqlite3_bind_text(st, 4, prediction_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	return cache_write(c, CACHE_PUT_JOB, "put job");
}


bool
cache_forget_session(struct cache *c, const unsigned char hash[AUTH_HASH_LEN])
{
	sqlite3_stmt	*st;

	if (!cache_ready(c))
		return false;
	st = c->st[CACHE_FORGET_SESSION];
	sqlite3_bind_blob(st, 1, hash, AUTH_HASH_LEN, SQLITE_STATIC);
	return cache_write(c, CACHE_FORGET_SESSION, "forget session");
}

bool
cache_begin(struct cache *c)
{
	if (!cache_ready(c) || !cache_write(c, CACHE_BEGIN, "begin"))
		return false;
	c->in_tx = true;
	return true;
}

bool
cache_end(struct cache *c, bool ok)
{
	bool done;

	if (!c->in_tx)
		return false;
	done = cache_write(c, ok ? CACHE_COMMIT : CACHE_ROLLBACK,
	    ok ? "commit" : "rollback");
	if (!done && c->db != NULL && !sqlite3_get_autocommit(c->db))
		(void)cache_write(c, CACHE_ROLLBACK, "rollback");
	c->in_tx = false;
	return done && ok;
}

bool
cache_job_by_prediction(struct cache *c, const char *prediction_id,
    char persona_id[VALID_UUID_LEN + 1], char user_id[VALID_UUID_LEN + 1],
    char job_id[VALID_UUID_LEN + 1])
{
	sqlite3_stmt	*st;
	int		 rc;

	if (!cache_ready(c))
		return false;
	st = c->st[CACHE_JOB_BY_PREDICTION];
	sqlite3_bind_text(st, 1, prediction_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite_text_copy(st, 0, persona_id, VALID_UUID_LEN + 1);
		sqlite_text_copy(st, 1, user_id, VALID_UUID_LEN + 1);
		sqlite_text_copy(st, 2, job_id, VALID_UUID_LEN + 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		cache_failed(c, "job by prediction", rc);
	return rc == SQLITE_ROW && persona_id[0] != '\0' && user_id[0] != '\0';
}
