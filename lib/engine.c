/*
 * engine.c: the background engine (video-complete --engine, --drain).
 */
#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "download.h"
#include "engine.h"
#include "log.h"
#include "outbox.h"
#include "valid.h"
#include "video.h"

#define ENGINE_LEASE_MAX_S	120	/* see engine_lease_s */
#define ENGINE_RETRY_S		2	/* PostgreSQL away: look again then */
#define ENGINE_BACKOFF_MAX_S	300
#define ENGINE_BATCH_US		2000000	/* draining, before the other work */
#define ENGINE_CHORES_US	5000000	/* reconcile and sweep this often */
#define ENGINE_RECONCILE_BATCH	"10"
#define ENGINE_DRAIN_MAX_US	60000000 /* --drain stops after this */

/* Columns of DB_JOB_BY_PREDICTION and of DB_JOBS_SWEEP. */
enum { COL_PERSONA, COL_USER, COL_JOB, COL_STATUS };
enum { SWEEP_JOB, SWEEP_PERSONA, SWEEP_USER, SWEEP_PREDICTION };

/* What became of one try of an event. */
enum engine_step {
	STEP_DONE,	/* applied everywhere, or nothing to do */
	STEP_WAIT,	/* something shared is away (PostgreSQL): not counted */
	STEP_LATER,	/* too early for this event: not counted */
	STEP_FAILED,	/* this event's try failed: counted, backed off */
	STEP_DEAD,	/* can never pass: a dead letter at once */
};

/* The job an event is about. */
struct engine_job {
	char	persona[VALID_UUID_LEN + 1];
	char	user[VALID_UUID_LEN + 1];
	char	job[VALID_UUID_LEN + 1];
	char	status[CACHE_STATUS_MAX];	/* PostgreSQL's; "" if not asked */
};

static volatile sig_atomic_t engine_stopping;

static void
engine_on_stop(int sig)
{
	(void)sig;
	engine_stopping = 1;
}

/* Seconds before the next try of an event that failed attempts times. */
static int
engine_backoff_s(int attempts)
{
	if (attempts <= 0)
		return 1;
	if (attempts >= 9)	/* 2^9 is past the bound already */
		return ENGINE_BACKOFF_MAX_S;
	return (1 << attempts) > ENGINE_BACKOFF_MAX_S ? ENGINE_BACKOFF_MAX_S :
	    1 << attempts;
}

/* Maps a PostgreSQL failure to a step. */
static enum engine_step
engine_db_step(enum db_status st, char *why, size_t whysz, const char *what)
{
	if (st == DB_OK)
		return STEP_DONE;
	snprintf(why, whysz, "%s: PostgreSQL %s", what, db_status_reason(st));
	return db_status_permanent(st) ? STEP_DEAD : STEP_WAIT;
}

/* The job of a prediction, with its status, as PostgreSQL has it. */
static enum db_status
engine_find_job_db(struct app *app, const char *prediction_id,
    struct engine_job *j, bool *found)
{
	const char *const values[] = { prediction_id };
	PGresult	*res;
	enum db_status	 st;

	memset(j, 0, sizeof(*j));
	if ((st = db_exec(app->db, DB_JOB_BY_PREDICTION, values, NULL,
	    &res)) != DB_OK)
		return st;
	if ((*found = PQntuples(res) == 1)) {
		snprintf(j->persona, sizeof(j->persona), "%s",
		    PQgetvalue(res, 0, COL_PERSONA));
		snprintf(j->user, sizeof(j->user), "%s",
		    PQgetvalue(res, 0, COL_USER));
		snprintf(j->job, sizeof(j->job), "%s",
		    PQgetvalue(res, 0, COL_JOB));
		snprintf(j->status, sizeof(j->status), "%s",
		    PQgetvalue(res, 0, COL_STATUS));
	}
	PQclear(res);
	return DB_OK;
}

/* The job of a prediction: from the cache when it knows, else PostgreSQL. */
static enum db_status
engine_find_job(struct app *app, const char *prediction_id,
    struct engine_job *j, bool *found)
{
	memset(j, 0, sizeof(*j));
	*found = true;
	if (cache_job_by_prediction(app->cache, prediction_id, j->persona,
	    j->user, j->job))
		return DB_OK;
	return engine_find_job_db(app, prediction_id, j, found);
}

/* Applies an event's outcome to PostgreSQL, durably. */
static enum db_status
engine_apply_db(struct app *app, const struct outbox_event *ev,
    const char *status, const char *error, const char *url, const char *job)
{
	const char *const values[] = { ev->prediction_id, status,
	    error != NULL && *error != '\0' ? error : NULL,
	    url != NULL && *url != '\0' ? url : NULL,
	    job != NULL && *job != '\0' ? job : NULL };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec_durable(app->db, DB_EVENT_APPLY, values, NULL,
	    &res)) != DB_OK)
		return st;
	log_msg(LOG_INFO, "engine: prediction %s %s: %s job, %s video",
	    ev->prediction_id, status,
	    strcmp(PQgetvalue(res, 0, 1), "0") != 0 ? "moved the" : "no",
	    strcmp(PQgetvalue(res, 0, 2), "0") != 0 ? "stored the" : "no new");
	PQclear(res);
	return DB_OK;
}

/* The copy's bounds, from the configuration. */
static void
engine_limits(const struct config *cfg, struct download_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->media_hosts = cfg->provider_media_hosts;
	l->allowed_default = cfg->provider_url;
	l->tmp_dir = cfg->download_dir;
	l->connect_timeout_ms = cfg->download_connect_timeout_ms;
	l->timeout_s = cfg->download_timeout_s;
	l->low_speed_bps = cfg->download_low_speed_bps;
	l->low_speed_s = cfg->download_low_speed_s;
	l->max_bytes = cfg->video_max_bytes;
	l->min_free_mb = cfg->media_min_free_mb;
}

/*
 * Copies a succeeded prediction's video into MEDIA_DIR/idle/, recording
 * our URL in ev.
 */
static enum download_status
engine_copy(struct app *app, struct outbox_event *ev, const char *persona,
    char *why, size_t whysz)
{
	struct download_limits	 lim;
	char			 path[4096];
	enum download_status	 st;

	engine_limits(app->cfg, &lim);
	snprintf(path, sizeof(path), "%s/idle/%s-%s.mp4", app->cfg->media_dir,
	    persona, ev->prediction_id);
	st = download_copy(ev->output_url, path, &lim, why, whysz);
	if (st == DOWNLOAD_OK)
		snprintf(ev->video_url, sizeof(ev->video_url),
		    "/media/idle/%s-%s.mp4", persona, ev->prediction_id);
	return st;
}

/*
 * One try of an event: the cache first (every worker sees the news at
 * once), PostgreSQL next. j gets the job when it is known; ev may carry
 * progress (our copy) back to the outbox.
 */
static enum engine_step
engine_apply(struct app *app, struct outbox_event *ev, struct engine_job *j,
    char *why, size_t whysz)
{
	enum prediction_status	 ps = prediction_status_parse(ev->status);
	int64_t			 now = clock_unix_s();
	const char		*error = ev->error;
	char			 copy_why[160], failure[PREDICTION_ERROR_MAX];
	enum db_status		 st;
	bool			 found;

	if ((st = engine_find_job(app, ev->prediction_id, j, &found)) != DB_OK)
		return engine_db_step(st, why, whysz, "finding the job");
	if (!found) {
		/*
		 * Maybe its start has not stored the prediction yet; past the
		 * start timeout no job can claim it any more (a start that died
		 * after the provider answered): a dead letter, kept in view.
		 */
		if (now - ev->received_at < 2 * (int64_t)app->cfg->job_start_timeout_s) {
			snprintf(why, whysz, "the prediction is not known yet");
			return STEP_LATER;
		}
		snprintf(why, whysz, "no job knows the prediction");
		return STEP_DEAD;
	}
	if (!prediction_is_terminal(ps)) {
		(void)cache_put_job(app->cache, j->persona, j->user, j->job,
		    ev->prediction_id, "processing", now);
		return engine_db_step(engine_apply_db(app, ev, "processing",
		    NULL, NULL, j->job), why, whysz, "applying");
	}
	if (ps == PREDICTION_SUCCEEDED && ev->video_url[0] == '\0') {
		enum download_status ds;

		/*
		 * A copy is costly: PostgreSQL, not the cache, says whether the
		 * job still waits for one. A late or repeated success (the
		 * webhook and a reconciliation both, say) of an ended job would
		 * copy the video again for nothing.
		 */
		if (j->status[0] == '\0' && (st = engine_find_job_db(app,
		    ev->prediction_id, j, &found)) != DB_OK)
			return engine_db_step(st, why, whysz, "finding the job");
		if (!found || !video_job_active(j->status)) {
			log_msg(LOG_INFO, "engine: event %s: the job of prediction"
			    " %s has ended (%s): nothing to copy",
			    ev->webhook_id, ev->prediction_id,
			    found ? j->status : "gone");
			return STEP_DONE;
		}
		ds = engine_copy(app, ev, j->persona, copy_why,
		    sizeof(copy_why));

		if (ds != DOWNLOAD_OK && !download_status_permanent(ds)) {
			snprintf(why, whysz, "copying the video: %s", copy_why);
			return STEP_FAILED;
		}
		if (ds != DOWNLOAD_OK) {
			snprintf(failure, sizeof(failure), "could not copy the "
			    "video: %s", copy_why);
			error = failure;
			ps = PREDICTION_FAILED;
		}
	}
	if (ps == PREDICTION_SUCCEEDED) {
		bool ok = cache_begin(app->cache);

		ok = ok && cache_put_video(app->cache, j->persona, j->user,
		    ev->video_url, now);
		ok = ok && cache_put_job(app->cache, j->persona, j->user,
		    j->job, ev->prediction_id, "succeeded", now);
		(void)cache_end(app->cache, ok);
		return engine_db_step(engine_apply_db(app, ev, "succeeded",
		    NULL, ev->video_url, j->job), why, whysz, "applying");
	}
	(void)cache_put_job(app->cache, j->persona, j->user, j->job,
	    ev->prediction_id, prediction_job_status(ps), now);
	if (error == NULL || *error == '\0')
		error = ev->status;
	return engine_db_step(engine_apply_db(app, ev,
	    prediction_job_status(ps), error, NULL, j->job), why, whysz,
	    "applying");
}

/*
 * Gives an event up: a dead letter, and its job failed (in the cache at
 * once; in PostgreSQL when it answers, else the sweep ends it later).
 */
static void
engine_bury(struct app *app, const struct outbox_event *ev,
    const struct engine_job *j, const char *why)
{
	char		 error[OUTBOX_REASON_MAX + 32];
	const char *const values[] = { ev->prediction_id, error };
	PGresult	*res;
	int64_t		 now = clock_unix_s();

	log_warnx("engine: event %s (prediction %s, %s) is dead after %d "
	    "attempt(s): %s", ev->webhook_id, ev->prediction_id, ev->status,
	    ev->attempts, why);
	(void)outbox_bury(app->outbox, ev->webhook_id, now, why);
	snprintf(error, sizeof(error), "gave up: %s", why);
	if (j->job[0] != '\0')
		(void)cache_put_job(app->cache, j->persona, j->user, j->job,
		    ev->prediction_id, "failed", now);
	if (db_exec_durable(app->db, DB_JOB_FAIL_PREDICTION, values, NULL,
	    &res) == DB_OK)
		PQclear(res);
}

/*
 * A claimed event's lease. It bounds how long an event waits when the
 * engine dies in the middle of it (the fault suite's bound), so it is
 * short, not as long as a whole copy may take: a second drainer beside the
 * engine (a timer's --drain where an engine also runs, which conf/ does
 * not set up) could then copy the same video twice, to the same file by an
 * atomic rename; wasted bandwidth, never a wrong file.
 */
static int
engine_lease_s(const struct config *cfg)
{
	return cfg->download_timeout_s < ENGINE_LEASE_MAX_S ?
	    cfg->download_timeout_s + 1 : ENGINE_LEASE_MAX_S;
}

/* Claims and applies due events for a while. Returns how many ended. */
static int
engine_drain(struct app *app, int64_t budget_us)
{
	struct outbox_event	 ev;
	struct engine_job	 j;
	char			 why[OUTBOX_REASON_MAX];
	int64_t			 until = clock_mono_us() + budget_us, now;
	int			 n = 0;

	while (!engine_stopping && clock_mono_us() < until &&
	    outbox_claim(app->outbox, clock_unix_s(), engine_lease_s(app->cfg),
	    &ev)) {
		enum engine_step step;

		why[0] = '\0';
		step = engine_apply(app, &ev, &j, why, sizeof(why));
		now = clock_unix_s();
		if (step == STEP_FAILED &&
		    ev.attempts + 1 >= app->cfg->outbox_max_attempts) {
			ev.attempts++;
			step = STEP_DEAD;
		}
		switch (step) {
		case STEP_DONE:
			(void)outbox_done(app->outbox, ev.webhook_id, now);
			n++;
			break;
		case STEP_DEAD:
			engine_bury(app, &ev, &j, why);
			n++;
			break;
		case STEP_FAILED:
			log_warnx("engine: event %s: %s (attempt %d of %d)",
			    ev.webhook_id, why, ev.attempts + 1,
			    app->cfg->outbox_max_attempts);
			(void)outbox_later(app->outbox, &ev,
			    now + engine_backoff_s(ev.attempts + 1), true, why);
			break;
		case STEP_LATER:
			(void)outbox_later(app->outbox, &ev,
			    now + ENGINE_RETRY_S, false, why);
			break;
		case STEP_WAIT:
			(void)outbox_later(app->outbox, &ev,
			    now + ENGINE_RETRY_S, false, why);
			/* What held this one (PostgreSQL) holds the rest. */
			return n;
		}
	}
	return n;
}

/*
 * Asks the provider about jobs without news for RECONCILE_AFTER_S: a
 * final state goes into the outbox like a webhook would.
 */
static void
engine_reconcile(struct app *app)
{
	char		 after[16];
	const char *const values[] = { after, ENGINE_RECONCILE_BATCH };
	PGresult	*res;
	int64_t		 now = clock_unix_s();

	if (app->provider == NULL)
		return;
	snprintf(after, sizeof(after), "%d", app->cfg->reconcile_after_s);
	if (db_exec(app->db, DB_JOBS_TO_RECONCILE, values, NULL, &res) !=
	    DB_OK)
		return;
	for (int i = 0; i < PQntuples(res) && !engine_stopping; i++) {
		const char		*id = PQgetvalue(res, i, 0);
		struct prediction	 pred;
		char			 wid[PREDICTION_ID_MAX];

		enum provider_status	 pst;

		if ((pst = provider_get(app->provider, id, &pred)) ==
		    PROVIDER_UNAVAILABLE) {
			/* The provider is away: the rest can wait too. */
			log_warnx("engine: reconcile %s: the provider did not "
			    "answer; asking again later", id);
			break;
		}
		if (pst != PROVIDER_OK) {
			/* Until JOB_MAX_AGE_S ends it, asked again later. */
			log_warnx("engine: reconcile %s: %s", id,
			    provider_status_name(pst));
			continue;
		}
		log_msg(LOG_INFO, "engine: reconciled prediction %s: %s", id,
		    pred.status_text);
		if (!prediction_is_terminal(pred.status))
			continue;
		snprintf(wid, sizeof(wid), "reconcile-%.80s-%.20s", pred.id,
		    pred.status_text);
		if (outbox_add(app->outbox, wid, pred.id, pred.status_text,
		    pred.output, pred.error, now) == OUTBOX_FAILED)
			break;
	}
	PQclear(res);
}

/* Ends jobs active past their bounds, and cancels them at the provider. */
static void
engine_sweep(struct app *app)
{
	char		 start[16], age[16];
	const char *const values[] = { start, age };
	PGresult	*res;
	int64_t		 now = clock_unix_s();
	bool		 cancel = app->provider != NULL;

	snprintf(start, sizeof(start), "%d", app->cfg->job_start_timeout_s);
	snprintf(age, sizeof(age), "%d", app->cfg->job_max_age_s);
	if (db_exec_durable(app->db, DB_JOBS_SWEEP, values, NULL, &res) !=
	    DB_OK)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		const char		*pred = PQgetvalue(res, i,
					    SWEEP_PREDICTION);
		struct prediction	 p;

		log_warnx("engine: job %s of persona %s was active too long: "
		    "failed", PQgetvalue(res, i, SWEEP_JOB),
		    PQgetvalue(res, i, SWEEP_PERSONA));
		(void)cache_put_job(app->cache, PQgetvalue(res, i,
		    SWEEP_PERSONA), PQgetvalue(res, i, SWEEP_USER),
		    PQgetvalue(res, i, SWEEP_JOB), *pred != '\0' ? pred : NULL,
		    "failed", now);
		/* Stop paying for it; a provider away is not asked again. */
		if (cancel && *pred != '\0' &&
		    provider_cancel(app->provider, pred, &p) == PROVIDER_UNAVAILABLE)
			cancel = false;
	}
	PQclear(res);
}

/* What an earlier version or a killed copy left behind. */
static void
engine_start_up(struct app *app)
{
	char	 pattern[4096];
	glob_t	 g;

	(void)download_cleanup(app->cfg->download_dir);	/* logs what it removes */
	(void)outbox_import_legacy(app->outbox, app->cfg->cache_path,
	    clock_unix_s());
	snprintf(pattern, sizeof(pattern), "%s.broken-*", app->cfg->cache_path);
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		size_t len = strlen(p);

		/* A set-aside file's -wal and -shm go with it. */
		if (len > 4 && (strcmp(p + len - 4, "-wal") == 0 ||
		    strcmp(p + len - 4, "-shm") == 0))
			continue;
		(void)outbox_import_legacy(app->outbox, p, clock_unix_s());
	}
	globfree(&g);
}

static void
engine_chores(struct app *app)
{
	engine_reconcile(app);
	engine_sweep(app);
	(void)outbox_purge(app->outbox, clock_unix_s());
}

/* The long-lived process. */
static int
engine_run(struct app *app)
{
	int64_t	 chores_at = 0;
	int	 pending, dead;

	if (outbox_counts(app->outbox, &pending, &dead))
		log_msg(LOG_NOTICE, "engine: started (outbox %s: %d pending, "
		    "%d dead)", app->cfg->outbox_path, pending, dead);
	while (!engine_stopping) {
		log_reopen();	/* if SIGHUP asked for it */
		/* Removed or replaced: the engine makes it again, workers never. */
		if (!outbox_intact(app->outbox)) {
			struct outbox *o = outbox_open(app->cfg->outbox_path,
			    app->cfg->cache_busy_timeout_ms, true);

			if (o != NULL) {
				log_warnx("engine: %s was removed or replaced: "
				    "opened it anew", app->cfg->outbox_path);
				outbox_close(app->outbox);
				app->outbox = o;
			}
		}
		(void)engine_drain(app, ENGINE_BATCH_US);
		if (!engine_stopping && clock_mono_us() >= chores_at) {
			engine_chores(app);
			chores_at = clock_mono_us() + ENGINE_CHORES_US;
		}
		db_close_idle(app->db, app->cfg->pg_idle_timeout_s);
		/* A signal ends the wait early. */
		if (!engine_stopping)
			(void)poll(NULL, 0, app->cfg->engine_poll_ms);
	}
	log_msg(LOG_NOTICE, "engine: stopping");
	return 0;
}

/* One pass of everything, for a timer. */
static int
engine_drain_once(struct app *app)
{
	int64_t	 until = clock_mono_us() + ENGINE_DRAIN_MAX_US;
	int	 n = 0, pending = 0, dead = 0;

	engine_chores(app);
	while (!engine_stopping && clock_mono_us() < until) {
		int k = engine_drain(app, until - clock_mono_us());

		n += k;
		if (k == 0)
			break;
	}
	(void)outbox_counts(app->outbox, &pending, &dead);
	log_msg(LOG_INFO, "engine: drain: %d event(s) ended; %d pending, "
	    "%d dead", n, pending, dead);
	return 0;
}

static void
engine_print_event(const struct outbox_event *ev, void *arg)
{
	char	 received[32], next[32];
	time_t	 t;

	(void)arg;
	t = (time_t)ev->received_at;
	strftime(received, sizeof(received), "%FT%TZ", gmtime(&t));
	t = (time_t)ev->next_try_at;
	strftime(next, sizeof(next), "%FT%TZ", gmtime(&t));
	printf("%-7s %s prediction=%s status=%s attempts=%d received=%s"
	    " next=%s last_error=\"%s\"\n", ev->dead ? "dead" : "pending",
	    ev->webhook_id, ev->prediction_id, ev->status, ev->attempts,
	    received, ev->dead ? "-" : next, ev->last_error);
}

/* --outbox [retry ID] */
static int
engine_outbox_command(struct app *app, int argc, char **argv)
{
	int	 pending, dead;

	if (argc == 4 && strcmp(argv[2], "retry") == 0) {
		if (!outbox_retry(app->outbox, argv[3], clock_unix_s())) {
			fprintf(stderr, "video-complete: no dead event %s\n",
			    argv[3]);
			return 1;
		}
		printf("%s: pending again\n", argv[3]);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: video-complete --outbox [retry ID]\n");
		return 2;
	}
	if (outbox_list(app->outbox, engine_print_event, NULL) < 0 ||
	    !outbox_counts(app->outbox, &pending, &dead))
		return 1;
	printf("%d pending, %d dead\n", pending, dead);
	return 0;
}

int
engine_main(int argc, char **argv)
{
	struct config		 cfg;
	struct app		 app;
	struct sigaction	 sa;
	const char		*cmd = argc > 1 ? argv[1] : "";
	bool			 outbox = strcmp(cmd, "--outbox") == 0;
	int			 rc;

	if ((strcmp(cmd, "--engine") != 0 && strcmp(cmd, "--drain") != 0 &&
	    !outbox) || (!outbox && argc != 2)) {
		fprintf(stderr, "usage: video-complete [--engine | --drain | "
		    "--outbox [retry ID]]\n");
		return 2;
	}
	if (!app_open(&app, &cfg, outbox ? "outbox" : "engine", APP_ENGINE))
		return 1;
	/* Only the engine creates the outbox; the command only reads it. */
	if ((app.outbox = outbox_open(cfg.outbox_path,
	    cfg.cache_busy_timeout_ms, !outbox)) == NULL) {
		fprintf(stderr, "video-complete: cannot open the outbox %s "
		    "(see the log line above)\n", cfg.outbox_path);
		app_close(&app);
		return 1;
	}
	if (outbox) {
		rc = engine_outbox_command(&app, argc, argv);
		app_close(&app);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = engine_on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);	/* multiwatch's "finish, then exit" */
	sa.sa_handler = log_on_reopen_signal;	/* as the workers do */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	engine_start_up(&app);
	rc = strcmp(cmd, "--engine") == 0 ? engine_run(&app) :
	    engine_drain_once(&app);
	app_close(&app);
	return rc;
}
