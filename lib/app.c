/*
 * app.c: a process's handles, and the answers its handlers share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "app.h"
#include "json_text.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"

bool
app_open(struct app *app, struct config *cfg, const char *name,
    enum app_kind kind)
{
	char		 err[256], appname[64];
	const char	*conninfo;
	int		 level;

	memset(app, 0, sizeof(*app));
	if (!config_load(cfg, err, sizeof(err))) {
		dprintf(STDERR_FILENO, "%s: configuration: %s\n", name, err);
		return false;
	}
	level = log_level_parse(cfg->log_level);
	log_init(name, level < 0 ? LOG_INFO : (enum log_level)level);
	/* The outbox command, run by hand, keeps its terminal. */
	if (strcmp(name, "outbox") != 0 && !log_open_file(cfg->log_path))
		log_warn("LOG_PATH %s cannot be opened, logging to standard "
		    "error", cfg->log_path);
	if (getuid() == 0 || geteuid() == 0) {
		log_warnx("refusing to run as root: start me as the service's "
		    "user (scripts/stack does)");
		return false;
	}
	app->cfg = cfg;
	if (cfg->settings_file != NULL) {
		struct stat st;

		log_msg(LOG_DEBUG, "settings from %s (the environment wins)",
		    cfg->settings_file);
		if (stat(cfg->settings_file, &st) == 0 &&
		    (st.st_mode & S_IROTH) != 0)
			log_warnx("%s can be read by every user of this machine, "
			    "secrets included: chmod o-r it", cfg->settings_file);
	}
	snprintf(appname, sizeof(appname), "%s:%ld", name, (long)getpid());
	/*
	 * The engine may connect as a role of its own, so that PostgreSQL's
	 * counts of the request workers' role show the requests alone.
	 */
	conninfo = kind == APP_ENGINE && *cfg->engine_database_url != '\0' ?
	    cfg->engine_database_url : cfg->database_url;
	_Static_assert(DB_PREPARE_AUTO == 0 && DB_PREPARE_ON == 1 &&
	    DB_PREPARE_OFF == 2, "PG_PREPARE's choices, in config.c's order");
	app->db = db_new(conninfo, appname, cfg->pg_connect_timeout_ms,
	    cfg->pg_statement_timeout_ms, (enum db_prepare)cfg->pg_prepare);
	app->cache = cache_open(cfg->cache_path, cfg->cache_busy_timeout_ms);
	if (app->db == NULL || app->cache == NULL) {
		log_warnx("out of memory at start-up");
		app_close(app);
		return false;
	}
	/* Without its file a process counts nothing, and serves on. */
	(void)metrics_open(cfg->metrics_path, cfg->cache_path, name,
	    kind == APP_ENGINE);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		log_warnx("curl_global_init failed: no video provider");
	else if ((app->provider = provider_new(cfg->provider_url,
	    cfg->provider_token, cfg->pg_connect_timeout_ms,
	    cfg->provider_timeout_ms)) == NULL)
		log_warnx("PROVIDER_URL is not an http(s) URL: %s",
		    cfg->provider_url);
	return true;
}

void
app_close(struct app *app)
{
	db_free(app->db);
	cache_close(app->cache);
	provider_free(app->provider);
	outbox_close(app->outbox);
	auth_close();
	metrics_close();
	curl_global_cleanup();
	memset(app, 0, sizeof(*app));
}

bool
app_authenticate(const struct http_request *req, struct http_response *resp,
    unsigned char hash[AUTH_HASH_LEN])
{
	const char	*tok;
	size_t		 len;

	if (!auth_bearer(req->authorization, &tok, &len)) {
		http_error(resp, API_UNAUTHORIZED, req->authorization == NULL ?
		    "Send the session token as: Authorization: Bearer <token>." :
		    "The session token is malformed.");
		return false;
	}
	if (!auth_hash(tok, len, hash)) {
		http_error(resp, API_INTERNAL, "Could not hash the token.");
		return false;
	}
	return true;
}

void
app_unauthorized(struct app *app, struct http_response *resp,
    const unsigned char hash[AUTH_HASH_LEN])
{
	if (app->cfg->cache_sessions)
		(void)cache_forget_session(app->cache, hash);
	http_error(resp, API_UNAUTHORIZED,
	    "The session is unknown or has expired.");
}

void
app_db_failed(struct http_response *resp, enum db_status st)
{
	char	 msg[160];

	snprintf(msg, sizeof(msg), "The database is unavailable (%s); "
	    "retry in a moment.", db_status_reason(st));
	http_error(resp, API_DB_UNAVAILABLE, msg);
	if (resp->body != NULL)
		json_object_object_add(resp->body, "reason",
		    json_object_new_string(db_status_reason(st)));
	resp->retry_after = 1;
}

/*
 * The answer is small and its shape fixed: it is written as text, without
 * building, serialising and freeing a json-c tree (about 9k instructions
 * of a cached answer's 52k, issue 12).
 */
void
app_video_answer(struct http_response *resp, int code, const char *status,
    const char *url, const char *job_id, const char *source)
{
	size_t	 sl = strlen(status), ul = url != NULL ? strlen(url) : 0;
	size_t	 jl = job_id != NULL ? strlen(job_id) : 0;
	size_t	 ol = source != NULL ? strlen(source) : 0;
	/* At most 6 bytes a byte (\u00XX), the quotes, the names. */
	size_t	 room = 64 + 6 * (sl + ul + jl + ol);
	char	*text = malloc(room), *p;

	if (text == NULL) {
		http_error(resp, API_INTERNAL, "Out of memory.");
		return;
	}
	p = JSON_TEXT_LIT(text, "{\"status\":");
	p = json_text_put(p, status, sl);
	p = JSON_TEXT_LIT(p, ",\"videoUrl\":");
	p = url != NULL ? json_text_put(p, url, ul) : JSON_TEXT_LIT(p, "null");
	p = JSON_TEXT_LIT(p, ",\"jobId\":");
	p = job_id != NULL ? json_text_put(p, job_id, jl) :
	    JSON_TEXT_LIT(p, "null");
	if (source != NULL) {
		p = JSON_TEXT_LIT(p, ",\"source\":");
		p = json_text_put(p, source, ol);
		resp->source = source;
	}
	*p++ = '}';
	http_text(resp, code, NULL, text, (size_t)(p - text));
}

struct outbox *
app_outbox(struct app *app)
{
	if (app->outbox == NULL)
		app->outbox = outbox_open(app->cfg->outbox_path,
		    app->cfg->cache_busy_timeout_ms, false);
	return app->outbox;
}

void
app_method_not_allowed(struct http_response *resp, const char *allow)
{
	char	 msg[96];

	snprintf(msg, sizeof(msg), "This address accepts %s only.", allow);
	http_error(resp, API_METHOD_NOT_ALLOWED, msg);
	resp->allow = allow;
}
