/*
 * generation.h: the two requests of generation, the start and the news.
 *
 *   start      POST /api/personas/{id}/idle-video: one active job per
 *              persona and at most GENERATIONS_PER_HOUR per user
 *              (PostgreSQL's job_create decides), a prediction at the
 *              provider (the only request that waits on the provider),
 *              the job in PostgreSQL and in the cache so that polls need
 *              no database.
 *   webhook    POST /api/video-complete: the Standard Webhooks signature,
 *              then the event into the durable outbox (fsynced) and 200;
 *              503 when the outbox cannot take it, so that the provider
 *              delivers it again.
 *
 * Everything slow or retried after that (applying events, copying the
 * video, reconciling, sweeping) is the engine's (engine.h).
 */
#ifndef GENERATION_H
#define GENERATION_H

#include "app.h"

void	generation_start(struct app *, const struct http_request *,
	    struct http_response *, const char *persona_id);

void	generation_webhook(struct app *, const struct http_request *,
	    struct http_response *);

#endif /* GENERATION_H */
