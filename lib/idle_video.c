/*
 * idle_video.c: the idle-video endpoint and its four-step path priority.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "generation.h"
#include "idle_video.h"
#include "metrics.h"
#include "persona.h"
#include "valid.h"
#include "video.h"

/* Sets the 200 answer of API.md. */
static void
idle_video_answer(struct http_response *resp, enum video_status status,
    const char *url, const char *job_id, const char *source)
{
	app_video_answer(resp, 200, video_status_name(status), url, job_id,
	    source);
}

static void
idle_video_not_found(struct http_response *resp)
{
	http_error(resp, API_NOT_FOUND, "No such persona.");
}

/*
 * Steps 1 to 3: answers from the cache when it can, without PostgreSQL.
 * Returns true when resp holds the answer.
 */
static bool
idle_video_from_cache(struct app *app, const struct http_request *req,
    struct http_response *resp, const unsigned char hash[AUTH_HASH_LEN],
    const char *persona_id, bool *session_cached)
{
	struct cache_entry	 e;
	const struct config	*cfg = app->cfg;
	int64_t			 now = clock_unix_s();

	*session_cached = false;
	if ((cfg->cache_sessions || cfg->cache_urls) &&
	    cache_lookup(app->cache, hash, persona_id, now, &e)) {
		if (!cfg->cache_sessions)
			e.session = CACHE_SESSION_UNKNOWN;
		*session_cached = e.session == CACHE_SESSION_VALID;
		if (e.session == CACHE_SESSION_EXPIRED) {
			resp->source = "cache";
			http_error(resp, API_UNAUTHORIZED,
			    "The session has expired.");
			return true;
		}
		/*
		 * Nothing about a persona before its owner is the caller:
		 * another user's persona answers 404 here as PostgreSQL would;
		 * to a quick check it is unknown, like one the cache does not
		 * hold, so that the check reveals nothing about other users.
		 */
		if (e.session == CACHE_SESSION_VALID && cfg->cache_urls) {
			/*
			 * An active job answers from the cache while its copy
			 * is fresh; an older one is read again from PostgreSQL,
			 * where the engine records what became of it (a quick
			 * check takes it as it is: it never asks PostgreSQL).
			 */
			bool active = !e.has_video && e.has_job &&
			    video_job_active(e.job_status) && (req->quick_check ||
			    now - e.job_updated_at < cfg->reconcile_after_s);
			const char *owner = e.has_video ? e.video_owner :
			    active ? e.job_owner : NULL;

			if (owner != NULL && strcmp(owner, e.user_id) != 0) {
				if (!req->quick_check) {
					resp->source = e.has_video ? "cache" :
					    "job";
					idle_video_not_found(resp);
					return true;
				}
			} else if (e.has_video) {
				idle_video_answer(resp, VIDEO_COMPLETED,
				    e.video_url, NULL, "cache");
				return true;
			} else if (active) {
				idle_video_answer(resp,
				    video_status_of(NULL, e.job_status), NULL,
				    e.job_id, "job");
				return true;
			}
		}
	}
	if (req->quick_check) {
		/* Never PostgreSQL: what the cache does not know is unknown. */
		idle_video_answer(resp, VIDEO_UNKNOWN, NULL, NULL,
		    "quick-check");
		return true;
	}
	return false;
}

/* Step 4: one query for the session, the owner and the video. */
static void
idle_video_from_db(struct app *app, struct http_response *resp,
    const unsigned char hash[AUTH_HASH_LEN], const char *persona_id,
    bool session_cached)
{
	const struct config	*cfg = app->cfg;
	struct persona_state	 ps;
	enum db_status		 st;
	const char		*url, *job;

	resp->source = "db";
	if ((st = persona_state_get(app, hash, persona_id, session_cached,
	    &ps)) != DB_OK) {
		app_db_failed(resp, st);
		return;
	}
	if (!ps.authenticated) {
		app_unauthorized(app, resp, hash);
		return;
	}
	if (!ps.found) {
		idle_video_not_found(resp);
		return;
	}
	url = ps.video_url[0] != '\0' ? ps.video_url : NULL;
	job = video_job_active(ps.job_status) ? ps.job_id : NULL;
	if (cfg->cache_urls && url != NULL)
		(void)cache_put_video(app->cache, persona_id, ps.user_id, url,
		    clock_unix_s());
	else if (cfg->cache_urls && ps.job_id[0] != '\0')
		(void)cache_put_job(app->cache, persona_id, ps.user_id,
		    ps.job_id, ps.job_prediction[0] != '\0' ?
		    ps.job_prediction : NULL, ps.job_status,
		    job != NULL ? clock_unix_s() : ps.job_updated_at);
	idle_video_answer(resp, video_status_of(url, ps.job_status), url, job,
	    "db");
}

static void
idle_video_get(struct app *app, const struct http_request *req,
    struct http_response *resp, const char *persona_id)
{
	unsigned char	 hash[AUTH_HASH_LEN];
	bool		 session_cached;

	if (!app_authenticate(req, resp, hash))
		return;
	if (!idle_video_from_cache(app, req, resp, hash, persona_id,
	    &session_cached))
		idle_video_from_db(app, resp, hash, persona_id, session_cached);
	/* A hit: the cache answered with the video or the job. */
	metrics_cache(strcmp(resp->source, "cache") == 0 ||
	    strcmp(resp->source, "job") == 0);
}

void
idle_video_handle(struct app *app, const struct http_request *req,
    struct http_response *resp)
{
	char	 id[VALID_UUID_LEN + 1];

	if (req->param == NULL ||
	    !valid_uuid(req->param, req->paramlen, id)) {
		unsigned char hash[AUTH_HASH_LEN];

		/* Authentication first, even for a malformed id. */
		if (app_authenticate(req, resp, hash))
			http_error(resp, API_BAD_REQUEST,
			    "The persona id must be a UUID.");
		return;
	}
	if (req->method == HTTP_GET)
		idle_video_get(app, req, resp, id);
	else
		generation_start(app, req, resp, id);
}
