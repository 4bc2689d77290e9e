/*
 * app.h: what every handler works with, and the answers they share.
 */
#ifndef APP_H
#define APP_H

#include <stdbool.h>

#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "provider.h"

struct outbox;

/* One process's state (a worker's or the engine's), alive while it lives. */
struct app {
	const struct config	*cfg;
	struct db		*db;	/* at most one PostgreSQL connection */
	struct cache		*cache;	/* the shared SQLite file */
	struct provider		*provider; /* the video provider's client */
	struct outbox		*outbox; /* the durable outbox, once opened */
};

/* A handler answers one request; it never fails to fill resp. */
typedef void (*app_handler)(struct app *, const struct http_request *,
    struct http_response *);

enum app_kind {
	APP_WORKER,	/* serves requests: DATABASE_URL */
	APP_ENGINE,	/* the background engine: ENGINE_DATABASE_URL if set */
};

/*
 * Reads the configuration into cfg, starts logging as name, refuses root,
 * and opens app's handles (PostgreSQL lazily; the outbox is left to its
 * users). Returns false, having said why on stderr or in the log.
 */
bool	app_open(struct app *, struct config *cfg, const char *name,
	    enum app_kind);
void	app_close(struct app *);

/*
 * Hashes the bearer token of req into hash. Answers 401 into resp and
 * returns false when the header is missing or malformed.
 */
bool	app_authenticate(const struct http_request *req,
	    struct http_response *resp, unsigned char hash[AUTH_HASH_LEN]);

/*
 * Answers 401 for a session that PostgreSQL does not know (any more), and
 * removes it from the cache, so that it stops working on cached paths.
 */
void	app_unauthorized(struct app *, struct http_response *,
	    const unsigned char hash[AUTH_HASH_LEN]);

/* Answers 503 db_unavailable (with Retry-After and the reason). */
void	app_db_failed(struct http_response *, enum db_status);

/*
 * Sets the answer about a persona's idle video: {"status", "videoUrl",
 * "jobId"} (NULL strings as null), and "source" when source is not NULL
 * (the poll says where its answer came from; the start of a generation
 * does not). The body is JSON text (resp->text), not a json-c tree.
 */
void	app_video_answer(struct http_response *, int code, const char *status,
	    const char *url, const char *job_id, const char *source);

/*
 * The outbox, opened on first use (a request worker's handle: a missing
 * file is an error, never made here), and again after a failure; NULL
 * when it cannot be opened.
 */
struct outbox *app_outbox(struct app *);

/* Answers 405 with the Allow header. */
void	app_method_not_allowed(struct http_response *, const char *allow);

#endif /* APP_H */
