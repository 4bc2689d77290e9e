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

/* Answers 405 with the Allow header. */
void	app_method_not_allowed(struct http_response *, const char *allow);

#endif /* APP_H */
