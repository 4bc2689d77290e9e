/*
 * outbox.h: the durable outbox, a SQLite file of its own (OUTBOX_PATH).
 *
 * It keeps what only this service knows: each webhook event the provider
 * was told "200" for, and each final state the engine learned by asking
 * the provider, until the engine has applied it to PostgreSQL or given up
 * on it (a dead letter, kept and listed until someone retries it). Every
 * commit is fsynced (synchronous=FULL, set before any statement is
 * prepared), so an added event is on disk when outbox_add() returns.
 *
 * Unlike the cache, the file is never set aside, deleted or recreated by
 * a request worker: a worker opens it without creating it, checks before
 * each write that the file it holds is still the one at the path, and
 * fails (the webhook answers 503, the provider retries) rather than write
 * anywhere else. Only the engine creates it.
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "cache.h"
#include "prediction.h"

#define OUTBOX_REASON_MAX	256

/* One event, as stored. */
struct outbox_event {
	char	webhook_id[PREDICTION_ID_MAX];
	char	prediction_id[PREDICTION_ID_MAX];
	char	status[PREDICTION_STATUS_MAX];
	char	output_url[PREDICTION_URL_MAX];
	char	error[PREDICTION_ERROR_MAX];
	char	video_url[CACHE_URL_MAX];	/* our copy, "" until made */
	int	attempts;			/* failed tries that count */
	int64_t	received_at;			/* unix seconds */
	int64_t	next_try_at;
	char	last_error[OUTBOX_REASON_MAX];	/* "" if none */
	bool	dead;
};

enum outbox_added {
	OUTBOX_ADDED,		/* on disk */
	OUTBOX_DUPLICATE,	/* that webhook id was there already */
	OUTBOX_FAILED,		/* not stored: answer 503 */
};

struct outbox;

/*
 * Opens the outbox at path (copied). With create, a missing file is made
 * and its schema applied (the engine); without, a missing file is an
 * error (request workers). Returns NULL and logs why on failure.
 */
struct outbox	*outbox_open(const char *path, int busy_timeout_ms,
		    bool create);
void		 outbox_close(struct outbox *);

/*
 * Stores an event (text copied as given; output_url and error NULL or ""
 * as SQL NULL) and fsyncs it. A repeated webhook id changes nothing. An
 * event that would not read back whole (a NULL id or status, or text
 * longer than its field in struct outbox_event) is refused: OUTBOX_FAILED.
 */
enum outbox_added outbox_add(struct outbox *, const char *webhook_id,
    const char *prediction_id, const char *status, const char *output_url,
    const char *error, int64_t now) MUSTCHECK;

/*
 * Claims the oldest due event for lease_s seconds (one claimer only, also
 * across processes). False when none is due or the file cannot answer.
 */
bool	outbox_claim(struct outbox *, int64_t now, int lease_s,
	    struct outbox_event *) MUSTCHECK;

/*
 * Puts a claimed event back for next_try_at with the reason it did not
 * finish, remembering our video copy (video_url, or NULL). counted adds
 * one to its attempts.
 */
bool	outbox_later(struct outbox *, const struct outbox_event *,
	    int64_t next_try_at, bool counted, const char *reason);

/*
 * Marks an event applied. It stays a day (a repeated delivery of it is a
 * no-op meanwhile), until outbox_purge, which the engine's chores call:
 * one more fsynced write per applied event would buy nothing.
 */
bool	outbox_done(struct outbox *, const char *webhook_id, int64_t now);
/* Removes the events applied more than a day ago. */
bool	outbox_purge(struct outbox *, int64_t now);

/* Gives an event up: a dead letter with its reason. */
bool	outbox_bury(struct outbox *, const char *webhook_id, int64_t now,
	    const char *reason);

/* Makes a dead event pending again, due now, attempts 0. */
bool	outbox_retry(struct outbox *, const char *webhook_id, int64_t now)
	    MUSTCHECK;

/*
 * Whether the file at the path is still the one this handle holds (not
 * removed or replaced); the engine opens it again when not.
 */
bool	outbox_intact(struct outbox *);

/* Pending and dead events; -1 when the file cannot answer. */
bool	outbox_counts(struct outbox *, int *pending, int *dead);

/*
 * Calls fn for every pending and dead event, oldest first. Returns the
 * number visited, -1 on error.
 */
int	outbox_list(struct outbox *,
	    void (*fn)(const struct outbox_event *, void *), void *arg);

/*
 * Moves the pending events of an outbox table inside an older cache file
 * (schema 2 kept the outbox there) into this outbox, then drops that
 * table. A row that outbox_add would refuse is left out, with a log line.
 * Returns the number moved, -1 when the file could not be read (then
 * nothing moved and the table stays).
 */
int	outbox_import_legacy(struct outbox *, const char *cache_file,
	    int64_t now);

#endif /* OUTBOX_H */
