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

/* One worker's state, alive for the life of the process. */
struct app {
	const struct config	*cfg;
	struct db		*db;	/* at most one PostgreSQL connection */
	struct cache		*cache;	/* the shared SQLite file */
};

/* A handler answers one request; it never fails to fill resp. */
typedef void (*app_handler)(struct app *, const struct http_request *,
    struct http_response *);

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
