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

/*
 * The WAL index (the -shm file, sqlite.org/walformat.html): its header is
 * the first 48 bytes, kept twice in a row; a commit writes the second copy,
 * then the first. Its shared memory comes in regions of 32 KiB.
 */
#define CACHE_WAL_HDR		48
#define CACHE_WAL_HDR_ISINIT	12	/* byte: the header has been written */
#define CACHE_WAL_REGION	32768

#define CACHE_MEMO_SLOTS	4096		/* a power of two */
#define CACHE_MEMO_RECORDS	2048		/* then it starts afresh */
#define CACHE_MEMO_BYTES	(512 * 1024)	/* the records' room at most */

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

/*
 * The memo: what CACHE_LOOKUP found, per (token hash, persona), kept by one
 * worker for as long as the file has not changed, so that a request asked
 * again skips SQLite (its statement, and the two fcntl(2) of its read lock).
 *
 * "Not changed" is the test SQLite itself makes before it trusts its page
 * cache: the header of the WAL index is the one it was. Every commit, by
 * any connection, rewrites that header (a new change counter, last frame,
 * salts and checksum), and it lives in shared memory, so reading it costs
 * no system call and no lock. It is read before the statement runs: a
 * commit in between makes the memo forget a row it could have kept, never
 * keep one it should forget. A replaced, removed or damaged file is found
 * by cache_ready, at most a second late, as before; reopening forgets
 * everything. Writes through this handle forget everything at once.
 *
 * Rows, not answers: the session's times are kept as the file holds them
 * and compared with now on every lookup, so an expiry is never missed.
 *
 * Records live in one buffer, appended; a slot names one by offset. All
 * of them are forgotten at once, by a new generation (slots of another
 * generation are empty), when the file changes or the room is used up.
 */
struct cache_memo_slot {
	uint32_t	 gen;		/* of the record; 0: never used */
	uint32_t	 off;		/* of the record in mem */
};

enum {
	MEMO_SESSION = 1,	/* the session's row was there */
	MEMO_VIDEO = 2,		/* the persona's video row */
	MEMO_JOB = 4,		/* the persona's job row */
};

struct cache_memo_rec {
	unsigned char	 hash[AUTH_HASH_LEN];
	char		 persona[VALID_UUID_LEN];	/* zeros for none */
	uint8_t		 rows;		/* MEMO_* */
	int64_t		 expires_at;	/* the session's */
	int64_t		 cached_until;
	int64_t		 job_updated_at;
	/*
	 * Then user_id, video_owner, video_url, job_owner, job_id,
	 * job_status and job_prediction, each with its NUL.
	 */
	char		 text[];
};

struct cache_memo {
	struct cache_memo_slot *slot;	/* CACHE_MEMO_SLOTS; NULL until used */
	char		*mem;		/* the records */
	size_t		 used, room;
	unsigned	 count;		/* records of this generation */
	uint32_t	 gen;		/* of the records in use, >= 1 */
	bool		 known;		/* hdr is the header they were read at */
	unsigned char	 hdr[CACHE_WAL_HDR];
	unsigned long	 hits;		/* lookups it answered */
};

struct cache {
	sqlite3		*db;			/* NULL while unusable */
	sqlite3_stmt	*st[CACHE_STMT__MAX];
	sqlite3_file	*file;			/* db's main file, for its WAL index */
	char		*path;
	int		 busy_ms;
	dev_t		 dev;			/* of the file we opened */
	ino_t		 ino;
	int64_t		 next_check_us;		/* monotonic */
	bool		 in_tx;
	struct cache_memo memo;
};

/* Forgets every record of the memo (it keeps its memory). */
static void
cache_memo_forget(struct cache *c)
{
	struct cache_memo *m = &c->memo;

	if (++m->gen == 0) {		/* wrapped: no slot may look current */
		if (m->slot != NULL)
			memset(m->slot, 0, CACHE_MEMO_SLOTS * sizeof(*m->slot));
		m->gen = 1;
	}
	m->used = 0;
	m->count = 0;
	m->known = false;
}

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
	c->file = NULL;
	c->in_tx = false;
	cache_memo_forget(c);
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
 * Finds the file whose WAL index the memo watches: the main file, once the
 * connection is in WAL mode (its shared memory is then open; in any other
 * mode there is none, and the memo stays off).
 */
static void
cache_memo_attach(struct cache *c)
{
	sqlite3_stmt	*q = NULL;
	sqlite3_file	*f = NULL;
	bool		 wal = false;

	c->file = NULL;
	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode", -1, &q,
	    NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(q, 0);

		wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
	}
	sqlite3_finalize(q);
	if (wal && sqlite3_file_control(c->db, "main",
	    SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f != NULL &&
	    f->pMethods != NULL && f->pMethods->iVersion >= 2 &&
	    f->pMethods->xShmMap != NULL)
		c->file = f;
	else
		log_msg(LOG_DEBUG, "cache: %s is not in WAL mode: no memo",
		    c->path);
}

/*
 * Copies the header of the WAL index into hdr. False when there is none
 * to trust now: no shared memory, never written, or being written (its
 * two copies differ), in which case SQLite answers this time.
 */
static bool
cache_wal_header(struct cache *c, unsigned char hdr[CACHE_WAL_HDR])
{
	void volatile	*p = NULL;
	unsigned char	 second[CACHE_WAL_HDR];

	if (c->file == NULL || c->file->pMethods->xShmMap(c->file, 0,
	    CACHE_WAL_REGION, 0, &p) != SQLITE_OK || p == NULL)
		return false;
	/* In the opposite order of the writer's, as SQLite reads it. */
	memcpy(hdr, (const void *)p, CACHE_WAL_HDR);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(second, (const char *)(const void *)p + CACHE_WAL_HDR,
	    CACHE_WAL_HDR);
	return memcmp(hdr, second, CACHE_WAL_HDR) == 0 &&
	    hdr[CACHE_WAL_HDR_ISINIT] != 0;
}

/*
 * Whether the memo may be used and filled now: the file has not changed
 * since its records were read (else they are forgotten, and it starts
 * again at the header of now).
 */
static bool
cache_memo_current(struct cache *c)
{
	struct cache_memo	*m = &c->memo;
	unsigned char		 hdr[CACHE_WAL_HDR];

	if (c->in_tx || !cache_wal_header(c, hdr))
		return false;	/* our own writes in hand, or no header */
	if (m->slot == NULL) {
		if ((m->slot = calloc(CACHE_MEMO_SLOTS, sizeof(*m->slot))) ==
		    NULL)
			return false;
		m->gen = 1;
	}
	if (!m->known || memcmp(hdr, m->hdr, CACHE_WAL_HDR) != 0) {
		cache_memo_forget(c);
		memcpy(m->hdr, hdr, CACHE_WAL_HDR);
		m->known = true;
	}
	return true;
}

/* Where the probe for a key starts: the hash is SHA-256, already mixed. */
static uint32_t
cache_memo_start(const unsigned char hash[AUTH_HASH_LEN],
    const char *persona)
{
	uint32_t	 h;

	memcpy(&h, hash, sizeof(h));
	if (persona != NULL)
		for (size_t i = 0; i < VALID_UUID_LEN; i++)
			h = (h ^ (unsigned char)persona[i]) * 16777619u;
	return h & (CACHE_MEMO_SLOTS - 1);
}

static bool
cache_memo_is(const struct cache_memo_rec *r,
    const unsigned char hash[AUTH_HASH_LEN], const char *persona)
{
	static const char none[VALID_UUID_LEN];

	return memcmp(r->hash, hash, AUTH_HASH_LEN) == 0 &&
	    memcmp(r->persona, persona != NULL ? persona : none,
	    VALID_UUID_LEN) == 0;
}

/*
 * What a row of CACHE_LOOKUP says beside a struct cache_entry: which of
 * its three parts were there, and the session's times, which the caller's
 * now turns into a state.
 */
struct cache_row {
	uint8_t		 rows;		/* MEMO_* */
	int64_t		 expires_at;
	int64_t		 cached_until;
};

/*
 * Copies the string at s into dst (dst NULL: skips it); returns where the
 * next one starts.
 */
static const char *
cache_memo_text(const char *s, char *dst)
{
	size_t	 n = strlen(s) + 1;

	if (dst != NULL)
		memcpy(dst, s, n);
	return s + n;
}

/*
 * Fills out and row as the statement would, from the memo. False when it
 * holds nothing for the key.
 */
static bool
cache_memo_get(struct cache *c, const unsigned char hash[AUTH_HASH_LEN],
    const char *persona, struct cache_entry *out, struct cache_row *row)
{
	struct cache_memo		*m = &c->memo;
	const struct cache_memo_rec	*r;
	const char			*s;
	uint32_t			 i;
	bool				 v, j;

	for (i = cache_memo_start(hash, persona); m->slot[i].gen == m->gen;
	    i = (i + 1) & (CACHE_MEMO_SLOTS - 1)) {
		r = (const struct cache_memo_rec *)(const void *)
		    (m->mem + m->slot[i].off);
		if (!cache_memo_is(r, hash, persona))
			continue;
		v = (r->rows & MEMO_VIDEO) != 0;
		j = (r->rows & MEMO_JOB) != 0;
		s = cache_memo_text(r->text, (r->rows & MEMO_SESSION) ?
		    out->user_id : NULL);
		s = cache_memo_text(s, v ? out->video_owner : NULL);
		s = cache_memo_text(s, v ? out->video_url : NULL);
		s = cache_memo_text(s, j ? out->job_owner : NULL);
		s = cache_memo_text(s, j ? out->job_id : NULL);
		s = cache_memo_text(s, j ? out->job_status : NULL);
		(void)cache_memo_text(s, j ? out->job_prediction : NULL);
		out->has_video = v && out->video_url[0] != '\0';
		if (j) {
			out->job_updated_at = r->job_updated_at;
			out->has_job = true;
		}
		row->rows = r->rows;
		row->expires_at = r->expires_at;
		row->cached_until = r->cached_until;
		m->hits++;
		return true;
	}
	return false;
}

/* Appends s (or "" when absent) to a record being made; returns its end. */
static char *
cache_memo_put_text(char *p, const char *s, bool present)
{
	size_t	 n = present ? strlen(s) : 0;

	memcpy(p, s, n);
	p[n] = '\0';
	return p + n + 1;
}

/*
 * Keeps what the statement found for the key (out and row); the memo
 * must be current. A record that does not fit is not kept.
 */
static void
cache_memo_put(struct cache *c, const unsigned char hash[AUTH_HASH_LEN],
    const char *persona, const struct cache_entry *out,
    const struct cache_row *row)
{
	struct cache_memo	*m = &c->memo;
	struct cache_memo_rec	*r;
	size_t			 len;
	uint32_t		 i;
	char			*p;
	bool			 u = (row->rows & MEMO_SESSION) != 0;
	bool			 v = (row->rows & MEMO_VIDEO) != 0;
	bool			 j = (row->rows & MEMO_JOB) != 0;

	len = sizeof(*r) + 7 + (u ? strlen(out->user_id) : 0) +
	    (v ? strlen(out->video_owner) + strlen(out->video_url) : 0) +
	    (j ? strlen(out->job_owner) + strlen(out->job_id) +
	    strlen(out->job_status) + strlen(out->job_prediction) : 0);
	len = (len + 7) & ~(size_t)7;	/* the next record stays aligned */
	if (m->count >= CACHE_MEMO_RECORDS ||
	    m->used + len > CACHE_MEMO_BYTES) {
		/* Full: start afresh, at the same header. */
		cache_memo_forget(c);
		m->known = true;
	}
	if (m->used + len > m->room) {
		size_t	 room = m->room == 0 ? 16384 : m->room;
		char	*mem;

		while (room < m->used + len)
			room *= 2;
		if (room > CACHE_MEMO_BYTES)
			room = CACHE_MEMO_BYTES;
		if ((mem = realloc(m->mem, room)) == NULL)
			return;
		m->mem = mem;
		m->room = room;
	}
	r = (struct cache_memo_rec *)(void *)(m->mem + m->used);
	memcpy(r->hash, hash, AUTH_HASH_LEN);
	if (persona != NULL)
		memcpy(r->persona, persona, VALID_UUID_LEN);
	else
		memset(r->persona, 0, VALID_UUID_LEN);
	r->rows = row->rows;
	r->expires_at = row->expires_at;
	r->cached_until = row->cached_until;
	r->job_updated_at = j ? out->job_updated_at : 0;
	p = cache_memo_put_text(r->text, out->user_id, u);
	p = cache_memo_put_text(p, out->video_owner, v);
	p = cache_memo_put_text(p, out->video_url, v);
	p = cache_memo_put_text(p, out->job_owner, j);
	p = cache_memo_put_text(p, out->job_id, j);
	p = cache_memo_put_text(p, out->job_status, j);
	(void)cache_memo_put_text(p, out->job_prediction, j);
	for (i = cache_memo_start(hash, persona); m->slot[i].gen == m->gen;
	    i = (i + 1) & (CACHE_MEMO_SLOTS - 1))
		continue;
	m->slot[i].gen = m->gen;
	m->slot[i].off = (uint32_t)m->used;
	m->used += len;
	m->count++;
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
	cache_memo_attach(c);
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
	free(c->memo.slot);
	free(c->memo.mem);
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
	struct cache_row row = { 0, 0, 0 };
	int		 rc;
	bool		 memo;

	out->session = CACHE_SESSION_UNKNOWN;
	out->has_video = out->has_job = false;
	if (!cache_ready(c))
		return false;
	/* The memo knows canonical persona ids only (36 characters). */
	memo = (persona_id == NULL ||
	    strnlen(persona_id, VALID_UUID_LEN + 1) == VALID_UUID_LEN) &&
	    cache_memo_current(c);
	if (memo && cache_memo_get(c, hash, persona_id, out, &row))
		goto found;
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
			row.expires_at = sqlite3_column_int64(st, 1);
			row.cached_until = sqlite3_column_int64(st, 2);
			row.rows |= MEMO_SESSION;
		}
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			sqlite_text_copy(st, 3, out->video_owner,
			    sizeof(out->video_owner));
			sqlite_text_copy(st, 4, out->video_url,
			    sizeof(out->video_url));
			out->has_video = out->video_url[0] != '\0';
			row.rows |= MEMO_VIDEO;
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
			row.rows |= MEMO_JOB;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW) {
		out->has_video = out->has_job = false;
		cache_failed(c, "lookup", rc);
		return false;
	}
	if (memo)
		cache_memo_put(c, hash, persona_id, out, &row);
found:
	if (row.rows & MEMO_SESSION) {
		if (row.expires_at <= now)
			out->session = CACHE_SESSION_EXPIRED;
		else if (row.cached_until > now)
			out->session = CACHE_SESSION_VALID;
	}
	return true;
}

unsigned long
cache_memo_hits(const struct cache *c)
{
	return c->memo.hits;
}

/* Steps a write statement to completion and resets it. */
static bool
cache_write(struct cache *c, enum cache_stmt which, const char *what)
{
	sqlite3_stmt	*st = c->st[which];
	int		 rc;

	/* The commit will change the header too; forget at once anyway. */
	cache_memo_forget(c);
	rc = sqlite3_step(st);

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
