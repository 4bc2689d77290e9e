/*
 * cache.h: the shared cache, one SQLite file (WAL) used by every worker.
 *
 * It holds copies of what PostgreSQL said: completed video URLs with their
 * owner (valid forever, URLs are immutable), sessions with a short
 * lifetime, and generation jobs. Nothing is kept only here (what only we
 * know lives in the outbox, outbox.h), so the file is disposable. Each
 * worker opens the file once after start-up and keeps its prepared
 * statements.
 *
 * The cache never takes the service down. A missing, replaced or broken
 * file is noticed (the file is re-checked at most once a second, and every
 * SQLite error is inspected), set aside and recreated; meanwhile every call
 * answers "not cached" or fails softly, and PostgreSQL answers instead.
 */
#ifndef CACHE_H
#define CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "auth.h"
#include "prediction.h"
#include "valid.h"

#define CACHE_URL_MAX		2048	/* longer URLs are not cached */
#define CACHE_STATUS_MAX	16

enum cache_session {
	CACHE_SESSION_UNKNOWN,	/* not cached, or the copy is too old */
	CACHE_SESSION_VALID,	/* user_id is the caller */
	CACHE_SESSION_EXPIRED,	/* the session itself has expired */
};

/* What the cache knows about one (token, persona) pair. */
struct cache_entry {
	enum cache_session session;
	char	user_id[VALID_UUID_LEN + 1];	/* when VALID or EXPIRED */
	bool	has_video;
	char	video_owner[VALID_UUID_LEN + 1];
	char	video_url[CACHE_URL_MAX];
	bool	has_job;
	char	job_owner[VALID_UUID_LEN + 1];
	char	job_id[VALID_UUID_LEN + 1];
	char	job_status[CACHE_STATUS_MAX];
	char	job_prediction[PREDICTION_ID_MAX];	/* "" if none yet */
	int64_t	job_updated_at;				/* unix seconds */
};

struct cache;

/*
 * Opens (creating if needed) the cache at path; path is copied. Returns
 * NULL only when out of memory: a file that cannot be opened yet leaves a
 * handle that keeps trying.
 */
struct cache	*cache_open(const char *path, int busy_timeout_ms);
void		 cache_close(struct cache *);

/*
 * Looks up a session by token hash and, if persona_id is not NULL, that
 * persona's video and active job, in one statement, or from the handle's
 * memo while the file has not changed since (see cache_memo_hits). now is
 * unix seconds, compared with the session's times on every call. Returns
 * false (and an empty entry) when the cache cannot answer.
 */
bool	cache_lookup(struct cache *, const unsigned char hash[AUTH_HASH_LEN],
	    const char *persona_id, int64_t now, struct cache_entry *out);

/*
 * Stores or refreshes one row; false when the cache could not. A job that
 * has ended (any status but starting and processing) is never moved back
 * to an active status for the same job id: a poll that read PostgreSQL
 * just before a webhook ended the job cannot bring it back.
 */
bool	cache_put_session(struct cache *, const unsigned char hash[AUTH_HASH_LEN],
	    const char *user_id, int64_t expires_at, int64_t cached_until);
bool	cache_put_video(struct cache *, const char *persona_id,
	    const char *user_id, const char *url, int64_t now);
bool	cache_put_job(struct cache *, const char *persona_id,
	    const char *user_id, const char *job_id, const char *prediction_id,
	    const char *status, int64_t now);

/*
 * Groups writes into one transaction (BEGIN IMMEDIATE, so that a
 * read-then-write never fails with SQLITE_BUSY_SNAPSHOT). cache_end()
 * commits when ok, otherwise rolls back.
 */
bool	cache_begin(struct cache *) MUSTCHECK;
bool	cache_end(struct cache *, bool ok);

/*
 * Removes a cached session, when PostgreSQL has said that it is not
 * valid any more: a revoked session stops working on cached paths too.
 */
bool	cache_forget_session(struct cache *,
	    const unsigned char hash[AUTH_HASH_LEN]);

/* The persona, owner and job of an active job by its prediction id. */
bool	cache_job_by_prediction(struct cache *, const char *prediction_id,
	    char persona_id[VALID_UUID_LEN + 1], char user_id[VALID_UUID_LEN + 1],
	    char job_id[VALID_UUID_LEN + 1]);

/* True while a usable database is open (for tests and logs). */
bool	cache_usable(struct cache *);

/*
 * Lookups answered from the handle's memo (for tests and logs): the rows
 * of a lookup are kept, per token hash and persona, for as long as the
 * file has not changed (no commit by any connection, no reopening), so
 * that a lookup asked again skips SQLite.
 */
unsigned long	cache_memo_hits(const struct cache *);

#endif /* CACHE_H */
