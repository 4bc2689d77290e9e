/*
 * generation.c: starting generations, accepting webhooks, applying events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "generation.h"
#include "log.h"
#include "persona.h"
#include "valid.h"
#include "webhook.h"

#define DRAIN_BUDGET_US		2000000	/* then back to accept */
#define DRAIN_LEASE_S		30	/* a claimed event's lease */
#define DRAIN_POLL_S		30	/* look at the outbox this often */
#define UNKNOWN_KEEP_S		600	/* keep an unknown prediction's event */
#define COPY_ATTEMPTS		8	/* then the video is given up */

enum apply_result {
	APPLY_DONE,	/* applied everywhere, or nothing to do */
	APPLY_LATER,	/* try again later (PostgreSQL or provider away) */
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
		http_error(resp, API_UNAUTHORIZED,
		    "The session is unknown or has expired.");
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

void
generation_start(struct app *app, const struct http_request *req,
    struct http_response *resp, const char *persona_id)
{
	unsigned char		 hash[AUTH_HASH_LEN];
	char			 user[VALID_UUID_LEN + 1], job[VALID_UUID_LEN + 1];
	char			 webhook_url[1024];
	struct prediction	 pred;
	PGresult		*res;
	enum db_status		 st;
	enum provider_status	 pst;

	resp->source = "db";
	if (!app_authenticate(req, resp, hash) ||
	    generation_current(app, resp, hash, persona_id, user))
		return;

	{
		const char *const values[] = { persona_id };

		st = db_exec(app->db, DB_JOB_CREATE, values, NULL, &res);
	}
	if (st != DB_OK) {
		app_db_failed(resp, st);
		return;
	}
	if (PQntuples(res) != 1) {
		/* Another worker created it a moment ago: answer that one. */
		PQclear(res);
		if (!generation_current(app, resp, hash, persona_id, user))
			app_db_failed(resp, DB_UNAVAILABLE);
		return;
	}
	snprintf(job, sizeof(job), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	snprintf(webhook_url, sizeof(webhook_url), "%s/api/video-complete",
	    app->cfg->public_base_url);
	pst = app->provider == NULL ? PROVIDER_UNAVAILABLE :
	    provider_create(app->provider, persona_id, webhook_url, &pred);
	if (pst != PROVIDER_OK) {
		char		 err[96];
		const char *const values[] = { job, err };

		snprintf(err, sizeof(err), "provider: %s",
		    provider_status_name(pst));
		if (db_exec(app->db, DB_JOB_FAIL, values, NULL, &res) == DB_OK)
			PQclear(res);
		http_error(resp, API_PROVIDER_UNAVAILABLE,
		    "The video provider is unavailable; try again later.");
		return;
	}
	/*
	 * The cache learns the prediction first: a webhook can arrive before
	 * PostgreSQL has it, and is matched through the cache.
	 */
	(void)cache_put_job(app->cache, persona_id, user, job, pred.id,
	    "starting", clock_unix_s());
	{
		const char *const values[] = { job, pred.id };

		if (db_exec(app->db, DB_JOB_SET_PREDICTION, values, NULL,
		    &res) == DB_OK)
			PQclear(res);
		else
			log_warnx("generation: job %s: prediction %s not stored"
			    " yet; the webhook will store it", job, pred.id);
	}
	log_msg(LOG_INFO, "generation: persona %s job %s prediction %s",
	    persona_id, job, pred.id);
	app_video_answer(resp, 202, "starting", NULL, job, NULL);
}

/*
 * Applies an event to PostgreSQL. Returns false when it must wait.
 */
static bool
generation_apply_db(struct app *app, const struct outbox_event *ev,
    const char *status, const char *error, const char *url, const char *job)
{
	const char *const values[] = { ev->prediction_id, status,
	    error != NULL && *error != '\0' ? error : NULL,
	    url != NULL && *url != '\0' ? url : NULL,
	    job != NULL && *job != '\0' ? job : NULL };
	PGresult	*res;

	if (db_exec(app->db, DB_EVENT_APPLY, values, NULL, &res) != DB_OK)
		return false;
	log_msg(LOG_INFO, "generation: prediction %s %s: %s, %s job, %s video",
	    ev->prediction_id, status, strcmp(PQgetvalue(res, 0, 0), "t") == 0 ?
	    "known" : "unknown",
	    strcmp(PQgetvalue(res, 0, 1), "0") != 0 ? "moved the" : "no",
	    strcmp(PQgetvalue(res, 0, 2), "0") != 0 ? "stored the" : "no new");
	PQclear(res);
	return true;
}

/* Finds the persona, owner and job of a prediction: cache, then PostgreSQL. */
static enum db_status
generation_find_job(struct app *app, const char *prediction_id,
    char persona[VALID_UUID_LEN + 1], char user[VALID_UUID_LEN + 1],
    char job[VALID_UUID_LEN + 1], bool *found)
{
	const char *const values[] = { prediction_id };
	PGresult	*res;
	enum db_status	 st;

	*found = true;
	if (cache_job_by_prediction(app->cache, prediction_id, persona, user,
	    job))
		return DB_OK;
	if ((st = db_exec(app->db, DB_JOB_BY_PREDICTION, values, NULL,
	    &res)) != DB_OK)
		return st;
	if ((*found = PQntuples(res) == 1)) {
		snprintf(persona, VALID_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
		snprintf(user, VALID_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 1));
		snprintf(job, VALID_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return DB_OK;
}

/*
 * Copies a succeeded prediction's video into our storage, recording our
 * URL in ev. Returns PROVIDER_OK, or why not.
 */
static enum provider_status
generation_copy(struct app *app, struct outbox_event *ev, const char *persona)
{
	char			 path[4096], url[CACHE_URL_MAX];
	enum provider_status	 st;

	if (app->provider == NULL)
		return PROVIDER_UNAVAILABLE;
	snprintf(path, sizeof(path), "%s/idle/%s-%s.mp4", app->cfg->media_dir,
	    persona, ev->prediction_id);
	snprintf(url, sizeof(url), "/media/idle/%s-%s.mp4", persona,
	    ev->prediction_id);
	st = provider_download(app->provider, ev->output_url, path,
	    app->cfg->video_max_bytes);
	if (st == PROVIDER_OK)
		snprintf(ev->video_url, sizeof(ev->video_url), "%s", url);
	return st;
}

/*
 * Applies one event: cache first, then PostgreSQL. Returns APPLY_LATER
 * when something it needs is away; then ev may carry progress (our copy).
 */
static enum apply_result
generation_apply(struct app *app, struct outbox_event *ev)
{
	char			 persona[VALID_UUID_LEN + 1] = "";
	char			 user[VALID_UUID_LEN + 1] = "";
	char			 job[VALID_UUID_LEN + 1] = "";
	enum prediction_status	 ps = prediction_status_parse(ev->status);
	int64_t			 now = clock_unix_s();
	bool			 found;
	const char		*error = ev->error;
	char			 why[128];

	if (generation_find_job(app, ev->prediction_id, persona, user, job,
	    &found) != DB_OK)
		return APPLY_LATER;
	if (!found) {
		/* Maybe the job's start has not stored it yet; not forever. */
		if (now - ev->received_at < UNKNOWN_KEEP_S)
			return APPLY_LATER;
		log_warnx("generation: prediction %s is unknown: dropping its "
		    "%s event", ev->prediction_id, ev->status);
		return APPLY_DONE;
	}

	if (!prediction_is_terminal(ps)) {
		(void)cache_put_job(app->cache, persona, user, job,
		    ev->prediction_id, "processing", now);
		return generation_apply_db(app, ev, "processing", NULL, NULL,
		    job) ? APPLY_DONE : APPLY_LATER;
	}
	if (ps == PREDICTION_SUCCEEDED && ev->video_url[0] == '\0') {
		enum provider_status st = generation_copy(app, ev, persona);

		if (st != PROVIDER_OK) {
			if ((st == PROVIDER_UNAVAILABLE ||
			    st == PROVIDER_REFUSED) && ev->attempts < COPY_ATTEMPTS)
				return APPLY_LATER;
			snprintf(why, sizeof(why), "could not copy the video: %s",
			    provider_status_name(st));
			error = why;
			ps = PREDICTION_FAILED;
		}
	}
	if (ps == PREDICTION_SUCCEEDED) {
		/* Every worker sees the finished video at once. */
		bool ok = cache_begin(app->cache);

		ok = ok && cache_put_video(app->cache, persona, user,
		    ev->video_url, now);
		ok = ok && cache_put_job(app->cache, persona, user, job,
		    ev->prediction_id, "succeeded", now);
		(void)cache_end(app->cache, ok);
		return generation_apply_db(app, ev, "succeeded", NULL,
		    ev->video_url, job) ? APPLY_DONE : APPLY_LATER;
	}
	(void)cache_put_job(app->cache, persona, user, job, ev->prediction_id,
	    prediction_job_status(ps), now);
	if (error == NULL || *error == '\0')
		error = ev->status;
	return generation_apply_db(app, ev, prediction_job_status(ps), error,
	    NULL, job) ? APPLY_DONE : APPLY_LATER;
}

/* Seconds to wait before the next try of an event. */
static int
generation_backoff(int attempts)
{
	return attempts >= 4 ? 10 : 1 << (attempts > 0 ? attempts - 1 : 0);
}

int
generation_drain(struct app *app)
{
	struct outbox_event	 ev;
	int64_t			 until = clock_mono_us() + DRAIN_BUDGET_US;
	int64_t			 next = 0, now;
	int			 n;

	while (clock_mono_us() < until && cache_outbox_claim(app->cache,
	    clock_unix_s(), DRAIN_LEASE_S, &ev)) {
		now = clock_unix_s();
		if (generation_apply(app, &ev) == APPLY_DONE) {
			(void)cache_outbox_done(app->cache, ev.webhook_id, now);
			continue;
		}
		(void)cache_outbox_later(app->cache, ev.webhook_id,
		    now + generation_backoff(ev.attempts), ev.video_url);
		/* What kept this one back (PostgreSQL, the provider) most
		 * likely keeps the next ones back too: try again later. */
		break;
	}
	if ((n = cache_outbox_pending(app->cache, &next)) <= 0)
		return DRAIN_POLL_S;
	now = clock_unix_s();
	return next <= now ? 1 : next - now > DRAIN_POLL_S ? DRAIN_POLL_S :
	    (int)(next - now);
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
	enum webhook_verdict	 v;
	char			 err[128], msg[160];
	int			 rc;
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
	rc = cache_outbox_add(app->cache, req->webhook_id, pred.id,
	    pred.status_text, pred.output, pred.error, clock_unix_s());
	if (rc < 0) {
		/* No durable outbox: apply now, or let the provider retry. */
		struct outbox_event ev;

		memset(&ev, 0, sizeof(ev));
		snprintf(ev.webhook_id, sizeof(ev.webhook_id), "%s",
		    req->webhook_id);
		snprintf(ev.prediction_id, sizeof(ev.prediction_id), "%s", pred.id);
		snprintf(ev.status, sizeof(ev.status), "%s", pred.status_text);
		snprintf(ev.output_url, sizeof(ev.output_url), "%s", pred.output);
		snprintf(ev.error, sizeof(ev.error), "%s", pred.error);
		ev.received_at = clock_unix_s();
		ev.attempts = COPY_ATTEMPTS;
		if (generation_apply(app, &ev) != APPLY_DONE) {
			app_db_failed(resp, DB_UNAVAILABLE);
			return;
		}
		rc = 1;
	}
	resp->source = "outbox";
	o = json_object_new_object();
	json_object_object_add(o, "accepted", json_object_new_boolean(1));
	json_object_object_add(o, "duplicate", json_object_new_boolean(rc == 0));
	http_ok(resp, 200, o);
}

bool
generation_reconcile(struct app *app, const char *prediction_id,
    int64_t updated_at, enum video_status *status, char url[CACHE_URL_MAX])
{
	struct prediction	 pred;
	struct outbox_event	 ev;
	int64_t			 now = clock_unix_s();

	if (app->provider == NULL || prediction_id == NULL ||
	    *prediction_id == '\0' ||
	    now - updated_at < app->cfg->reconcile_after_s)
		return false;
	if (provider_get(app->provider, prediction_id, &pred) != PROVIDER_OK)
		return false;
	log_msg(LOG_INFO, "generation: reconciled prediction %s: %s",
	    prediction_id, pred.status_text);
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.webhook_id, sizeof(ev.webhook_id), "reconcile-%.80s-%.20s",
	    pred.id, pred.status_text);
	snprintf(ev.prediction_id, sizeof(ev.prediction_id), "%s", pred.id);
	snprintf(ev.status, sizeof(ev.status), "%s", pred.status_text);
	snprintf(ev.output_url, sizeof(ev.output_url), "%s", pred.output);
	snprintf(ev.error, sizeof(ev.error), "%s", pred.error);
	ev.received_at = now;
	if (!prediction_is_terminal(pred.status)) {
		/* Still working: ask again after another bound. */
		(void)generation_apply(app, &ev);
		return false;
	}
	if (generation_apply(app, &ev) != APPLY_DONE)
		(void)cache_outbox_add(app->cache, ev.webhook_id, ev.prediction_id,
		    ev.status, ev.output_url, ev.error, now);
	if (pred.status == PREDICTION_SUCCEEDED && ev.video_url[0] != '\0') {
		*status = VIDEO_COMPLETED;
		snprintf(url, CACHE_URL_MAX, "%s", ev.video_url);
	} else if (pred.status == PREDICTION_SUCCEEDED)
		*status = VIDEO_PROCESSING;	/* the copy is still to come */
	else
		*status = VIDEO_FAILED;
	return true;
}
