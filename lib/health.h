/*
 * health.h: GET /api/health, what a load balancer asks a worker.
 *
 * 200 {"status": "ok" | "degraded", "cache": "ok" | "unavailable",
 * "postgres": "ok" | the reason it cannot answer, "outbox": {"pending": N,
 * "dead": M} | "unavailable"}: degraded, not an error, while the worker
 * can still answer something (PostgreSQL down: the cache answers; the
 * cache lost: PostgreSQL answers); 503 with the same body when neither
 * can. No authentication: it tells nothing about anyone's data.
 */
#ifndef HEALTH_H
#define HEALTH_H

#include "app.h"

void	health_handle(struct app *, const struct http_request *,
	    struct http_response *);

#endif /* HEALTH_H */
