/*
 * generation.c: starting a generation, and accepting the provider's news.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "generation.h"
#include "log.h"
#include "outbox.h"
#include "persona.h"
#include "valid.h"
#include "video.h"
#include "webhook.h"

#define OUTBOX_RETRY_AFTER_S	5	/* the provider retries anyway */

/* Columns of DB_JOB_CREATE. */
enum {
	COL_JOB_ID,
	COL_OUTCOME,
	COL_RETRY_AFTER,
};

/*
 * Answers from the persona's current state in PostgreSQL when there is
 * nothing to start: 200 with a completed video, 202 with the active job.
 * Returns false when a new job is needed; *user gets the owner.
 */
static bool
generation_current(struct app *app, struct http_response *resp,
    const unsigned char hash[AUTH_HASH_LEN], const char *persona_id,
    char user[VALID_UUID_LEN + 1])
{
	struct persona_state	 ps;
	enum db_status		 st;

	if ((st = persona_state_get(app, hash, persona_id, false, &ps)) != DB_OK)
		app_db_failed(resp, st);
	else if (!ps.authenticated)
		app_unauthorized(app, resp, hash);
	else if (!ps.found)
		http_error(resp, API_NOT_FOUND, "No such persona.");
	else if (ps.video_url[0] != '\0')
		app_video_answer(resp, 200, "completed", ps.video_url, NULL,
		    NULL);
	else if (video_job_active(ps.job_status))
		app_video_answer(resp, 202, ps.job_status, NULL, ps.job_id,
		    NULL);
	else {
		memcpy(user, ps.user_id, sizeof(ps.user_id));
		return false;
	}
	return true;
}

/*
 * Creates the job row. Returns true with job set, or false with resp
 * holding the answer (the job that another worker created a moment ago,
 * 429, 503).
 */
static bool
generation_create_job(struct app *app, struct http_response *resp,
    const unsigned char hash[AUTH_HASH_LEN], const char *persona_id,
    char user[VALID_UUID_LEN + 1], char job[VALID_UUID_LEN + 1])
{
	char		 limit[16];
	const char *const values[] = { persona_id, limit };
	PGresult	*res;
	enum db_status	 st;
	char		 outcome[16] = "";
	int		 retry_after = 0;

	snprintf(limit, sizeof(limit), "%d", app->cfg->generations_per_hour);
	if ((st = db_exec_durable(app->db, DB_JOB_CREATE, values, NULL,
	    &res)) != DB_OK) {
		app_db_failed(resp, st);
		return false;
	}
	if (PQntuples(res) == 1) {
		snprintf(outcome, sizeof(outcome), "%s",
		    PQgetvalue(res, 0, COL_OUTCOME));
		snprintf(job, VALID_UUID_LEN + 1, "%s",
		    PQgetvalue(res, 0, COL_JOB_ID));
		retry_after = atoi(PQgetvalue(res, 0, COL_RETRY_AFTER));
	}
	PQclear(res);
	if (strcmp(outcome, "created") == 0)
		return true;
	if (strcmp(outcome, "rate_limited") == 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "At most %d generations an hour; "
		    "try again in %d s.", app->cfg->generations_per_hour,
		    retry_after);
		http_error(resp, API_RATE_LIMITED, msg);
		resp->retry_after = retry_after > 0 ? retry_after : 1;
		return false;
	}
	/* Another worker created it a moment ago: answer that one. */
	if (!generation_current(app, resp, hash, persona_id, user))
		app_db_failed(resp, DB_UNAVAILABLE);
	return false;
}

void
generation_start(struct app *app, const struct http_request *req,
    struct http_response *resp, const char *persona_id)
{
	unsigned char		 hash[AUTH_HASH_LEN];
	char			 user[VALID_UUID_LEN + 1], job[VALID_UUID_LEN + 1];
	char			 webhook_url[1024];
	struct prediction	 pred;
	PGresult		*res;
	enum provider_status	 pst;

	resp->source = "db";
	if (!app_authenticate(req, resp, hash) ||
	    generation_current(app, resp, hash, persona_id, user) ||
	    !generation_create_job(app, resp, hash, persona_id, user, job))
		return;

	snprintf(webhook_url, sizeof(webhook_url), "%s/api/video-complete",
	    app->cfg->public_base_url);
	pst = app->provider == NULL ? PROVIDER_UNAVAILABLE :
	    provider_create(app->provider, persona_id, webhook_url, &pred);
	if (pst != PROVIDER_OK) {
		char		 err[96];
		const char *const values[] = { job, err };

		/* If this fails too, the engine's sweep ends the job. */
		snprintf(err, sizeof(err), "provider: %s",
		    provider_status_name(pst));
		if (db_exec_durable(app->db, DB_JOB_FAIL, values, NULL,
		    &res) == DB_OK)
			PQclear(res);
		http_error(resp, API_PROVIDER_UNAVAILABLE,
		    "The video provider is unavailable; try again later.");
		return;
	}
	/*
	 * The cache learns the prediction first: a webhook can arrive before
	 * PostgreSQL has it, and the engine matches it through the cache.
	 */
	(void)cache_put_job(app->cache, persona_id, user, job, pred.id,
	    "starting", clock_unix_s());
	{
		const char *const values[] = { job, pred.id };

		if (db_exec_durable(app->db, DB_JOB_SET_PREDICTION, values,
		    NULL, &res) == DB_OK)
			PQclear(res);
		else
			log_warnx("generation: job %s: prediction %s not stored"
			    " yet; its events will store it", job, pred.id);
	}
	log_msg(LOG_INFO, "generation: persona %s job %s prediction %s",
	    persona_id, job, pred.id);
	app_video_answer(resp, 202, "starting", NULL, job, NULL);
}

/* Webhook ids are short printable tokens. */
static bool
generation_webhook_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (n >= PREDICTION_ID_MAX - 1 || s[n] <= ' ' || s[n] > '~')
			return false;
	return n > 0;
}

void
generation_webhook(struct app *app, const struct http_request *req,
    struct http_response *resp)
{
	struct prediction	 pred;
	struct outbox		*ob;
	enum webhook_verdict	 v;
	enum outbox_added	 added = OUTBOX_FAILED;
	char			 err[128], msg[160];
	json_object		*o;

	v = webhook_verify(app->cfg->webhook_secret, req->webhook_id,
	    req->webhook_timestamp, req->webhook_signature, req->body,
	    req->bodylen, clock_unix_s());
	if (v != WEBHOOK_OK) {
		if (v == WEBHOOK_BAD_SECRET)
			log_warnx("webhook: WEBHOOK_SECRET is not a whsec_ "
			    "secret: every delivery is refused");
		snprintf(msg, sizeof(msg), "The webhook signature is not "
		    "valid (%s).", webhook_verdict_name(v));
		http_error(resp, API_UNAUTHORIZED, msg);
		return;
	}
	if (!generation_webhook_id_ok(req->webhook_id)) {
		http_error(resp, API_BAD_REQUEST, "webhook-id is malformed.");
		return;
	}
	if (!prediction_parse(req->body, req->bodylen, &pred, err,
	    sizeof(err))) {
		snprintf(msg, sizeof(msg), "The prediction is malformed: %s.",
		    err);
		http_error(resp, API_BAD_REQUEST, msg);
		return;
	}
	resp->source = "outbox";
	if ((ob = app_outbox(app)) != NULL)
		added = outbox_add(ob, req->webhook_id, pred.id,
		    pred.status_text, pred.output, pred.error, clock_unix_s());
	if (added == OUTBOX_FAILED) {
		/* Never a 200 for an event that is not on disk. */
		outbox_close(app->outbox);
		app->outbox = NULL;
		http_error(resp, API_SERVICE_UNAVAILABLE, "The event could not "
		    "be stored; deliver it again later.");
		resp->retry_after = OUTBOX_RETRY_AFTER_S;
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "accepted", json_object_new_boolean(1));
	json_object_object_add(o, "duplicate",
	    json_object_new_boolean(added == OUTBOX_DUPLICATE));
	http_ok(resp, 200, o);
}
