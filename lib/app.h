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

/* One worker's state, alive for the life of the process. */
struct app {
	const struct config	*cfg;
	struct db		*db;	/* at most one PostgreSQL connection */
	struct cache		*cache;	/* the shared SQLite file */
	struct provider		*provider; /* the video provider's client */
};

/* A handler answers one request; it never fails to fill resp. */
typedef void (*app_handler)(struct app *, const struct http_request *,
    struct http_response *);

/*
 * Background work, run after a response is finished and when the worker
 * wakes up idle. Returns the seconds until it wants to run again, 0 for
 * "only after the next request".
 */
typedef int (*app_task)(struct app *);

/*
 * Hashes the bearer token of req into hash. Answers 401 into resp and
 * returns false when the header is missing or malformed.
 */
bool	app_authenticate(const struct http_request *req,
	    struct http_response *resp, unsigned char hash[AUTH_HASH_LEN]);

/* Answers 503 db_unavailable (with Retry-After and the reason). */
void	app_db_failed(struct http_response *, enum db_status);

/*
 * Sets the answer about a persona's idle video: {"status", "videoUrl",
 * "jobId"} (NULL strings as null), and "source" when source is not NULL
 * (the poll says where its answer came from; the start of a generation
 * does not).
 */
void	app_video_answer(struct http_response *, int code, const char *status,
	    const char *url, const char *job_id, const char *source);

/* Answers 405 with the Allow header. */
void	app_method_not_allowed(struct http_response *, const char *allow);

#endif /* APP_H */
