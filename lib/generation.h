/*
 * generation.h: idle video generation at the provider, end to end.
 *
 *   start      POST /api/personas/{id}/idle-video: one active job per
 *              persona (PostgreSQL's partial unique index decides), a
 *              prediction at the provider, the job in PostgreSQL and in
 *              the cache so that polls need no database.
 *   webhook    POST /api/video-complete: the Standard Webhooks signature,
 *              then the event into the outbox (fsynced) and 200 at once.
 *   drain      after the response, and whenever the worker wakes: each
 *              due event is applied, cache first (every worker sees a
 *              finished video at once), PostgreSQL next; an event that
 *              cannot be applied yet (PostgreSQL down) waits and is
 *              retried; repeated deliveries change nothing.
 *   reconcile  a poll of a job older than RECONCILE_AFTER_S asks the
 *              provider, since a webhook may never come.
 *
 * A success is completed by copying the video from the provider's host
 * (and nowhere else) into MEDIA_DIR/idle/, because provider outputs are
 * deleted after an hour: the URL we store and cache is ours.
 */
#ifndef GENERATION_H
#define GENERATION_H

#include "app.h"
#include "video.h"

void	generation_start(struct app *, const struct http_request *,
	    struct http_response *, const char *persona_id);

void	generation_webhook(struct app *, const struct http_request *,
	    struct http_response *);

/* The background task of video-complete workers (see app_task). */
int	generation_drain(struct app *);

/*
 * Asks the provider about a job's prediction when updated_at is older
 * than the bound, and applies what it says. Returns true when the job
 * has ended, with its status and (completed) our video URL.
 */
bool	generation_reconcile(struct app *, const char *prediction_id,
	    int64_t updated_at, enum video_status *status,
	    char url[CACHE_URL_MAX]);

#endif /* GENERATION_H */
