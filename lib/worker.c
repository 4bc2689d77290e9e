/*
 * worker.c: the accept loop, request reading and response writing.
 */
#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "clock.h"
#include "log.h"
#include "valid.h"
#include "worker.h"

static volatile sig_atomic_t worker_alarmed;

static void
worker_on_alarm(int sig)
{
	(void)sig;	/* interrupts accept(2), and says it was us */
	worker_alarmed = 1;
}

static bool worker_timer_armed;	/* whether ITIMER_REAL runs */

/*
 * Arms the timer that wakes accept(2) while there is something to time
 * (an idle connection to close, background work that is due): first when
 * it is due, then every second in case a signal fell just before accept(2)
 * blocked. The loop disarms it after accept returns.
 */
static void
worker_arm_timer(struct app *app, int64_t task_at_us)
{
	struct itimerval it;
	int64_t		 left = -1, now = clock_mono_us();

	if (db_connected(app->db))
		left = db_idle_left_us(app->db, app->cfg->pg_idle_timeout_s);
	if (task_at_us > 0 && (left < 0 || task_at_us - now < left))
		left = task_at_us - now;
	if (left < 0)
		return;		/* nothing to time: no system call either */
	if (left < 1000)
		left = 1000;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = left / 1000000;
	it.it_value.tv_usec = left % 1000000;
	it.it_interval.tv_sec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
	worker_timer_armed = true;
}

static void
worker_disarm_idle_timer(void)
{
	struct itimerval it;

	if (!worker_timer_armed)
		return;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	worker_timer_armed = false;
}

/* Reads exactly len body bytes into a new NUL-terminated buffer. */
static char *
worker_read_body(FCGX_Request *fr, size_t len)
{
	char	*buf = malloc(len + 1);
	size_t	 got = 0;

	if (buf == NULL)
		return NULL;
	while (got < len) {
		int n = FCGX_GetStr(buf + got, (int)(len - got), fr->in);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Points *dst at the value of "name=value" when kv is that parameter. */
static void
worker_param(const char *kv, const char *name, size_t len, const char **dst)
{
	if (*dst == NULL && strncmp(kv, name, len) == 0 && kv[len] == '=')
		*dst = kv + len + 1;
}

#define PARAM(kv, name, dst)	worker_param((kv), (name), sizeof(name) - 1, (dst))

/*
 * Reads the parameters a request needs in one pass over them (libfcgi's
 * FCGX_GetParam scans them all on every call). As with FCGX_GetParam, the
 * first occurrence of a name wins.
 */
static void
worker_params(char **envp, struct http_request *req, const char **uri,
    const char **quick, const char **length)
{
	*uri = *quick = *length = NULL;
	for (; *envp != NULL; envp++) {
		const char *kv = *envp;

		switch (kv[0]) {
		case 'R':
			PARAM(kv, "REQUEST_METHOD", &req->method_name);
			PARAM(kv, "REQUEST_URI", uri);
			break;
		case 'Q':
			PARAM(kv, "QUERY_STRING", &req->query);
			break;
		case 'C':
			PARAM(kv, "CONTENT_LENGTH", length);
			PARAM(kv, "CONTENT_TYPE", &req->content_type);
			break;
		case 'H':
			PARAM(kv, "HTTP_AUTHORIZATION", &req->authorization);
			PARAM(kv, "HTTP_X_QUICK_CHECK", quick);
			PARAM(kv, "HTTP_WEBHOOK_ID", &req->webhook_id);
			PARAM(kv, "HTTP_WEBHOOK_TIMESTAMP",
			    &req->webhook_timestamp);
			PARAM(kv, "HTTP_WEBHOOK_SIGNATURE",
			    &req->webhook_signature);
			break;
		default:
			break;
		}
	}
}

/*
 * Fills req from the FastCGI parameters, reading a POST body. Returns
 * false with resp set when the request is refused before any handler.
 */
static bool
worker_read_request(FCGX_Request *fr, struct http_request *req,
    struct http_response *resp, char **body)
{
	const char	*uri, *q, *v, *quick, *length;
	long long	 clen = 0;

	memset(req, 0, sizeof(*req));
	*body = NULL;
	worker_params(fr->envp, req, &uri, &quick, &length);
	if (req->method_name == NULL)
		req->method_name = "";
	req->method = strcmp(req->method_name, "GET") == 0 ? HTTP_GET :
	    strcmp(req->method_name, "POST") == 0 ? HTTP_POST : HTTP_OTHER;
	if (uri == NULL)
		uri = "";
	req->path = uri;
	req->pathlen = (q = strchr(uri, '?')) != NULL ?
	    (size_t)(q - uri) : strlen(uri);
	if (req->query == NULL)
		req->query = "";
	req->quick_check = quick != NULL && strcasecmp(quick, "true") == 0;

	if ((v = length) != NULL &&
	    *v != '\0' && !valid_int(v, 0, LLONG_MAX, &clen)) {
		http_error(resp, API_BAD_REQUEST, "Content-Length is malformed.");
		return false;
	}
	if (clen > WORKER_BODY_MAX) {
		http_error(resp, API_PAYLOAD_TOO_LARGE,
		    "The request body is larger than 64 KiB.");
		return false;
	}
	if (req->method == HTTP_POST) {
		if ((*body = worker_read_body(fr, (size_t)clen)) == NULL) {
			http_error(resp, API_BAD_REQUEST,
			    "The request body is shorter than its length.");
			return false;
		}
		req->body = *body;
		req->bodylen = (size_t)clen;
	}
	return true;
}

/* Writes the response; returns the size of its body. */
static size_t
worker_write_response(FCGX_Request *fr, const struct http_response *resp)
{
	const char	*body = "";
	size_t		 len = 0;
	char		 head[512];
	int		 n;

	if (resp->body != NULL)
		body = json_object_to_json_string_length(resp->body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
	/* The head in one buffer and one call: libfcgi's printf is slow. */
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n",
	    resp->status, http_reason(resp->status), len);
	if (resp->retry_after > 0 && n < (int)sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Retry-After: %d\r\n", resp->retry_after);
	if (resp->allow != NULL && n < (int)sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Allow: %s\r\n", resp->allow);
	if (n < (int)sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	FCGX_PutStr(head, n < (int)sizeof(head) ? n : (int)sizeof(head) - 1,
	    fr->out);
	FCGX_PutStr(body, (int)len, fr->out);
	return len;
}

/* Answers one accepted request and logs it. */
static void
worker_serve(struct app *app, app_handler handler, FCGX_Request *fr)
{
	struct http_request	 req;
	struct http_response	 resp;
	unsigned long		 q0 = db_queries(app->db);
	int64_t			 t0 = clock_mono_us();
	char			*body = NULL, route[160];
	struct log_access	 a;
	size_t			 sent;

	http_response_init(&resp);
	if (worker_read_request(fr, &req, &resp, &body))
		handler(app, &req, &resp);
	sent = worker_write_response(fr, &resp);
	/* The parameters (req's strings) die with the request. */
	snprintf(route, sizeof(route), "%s %s", req.method_name, resp.route);
	FCGX_Finish_r(fr);

	a.route = route;
	a.status = resp.status;
	a.source = resp.source;
	a.queries = (unsigned)(db_queries(app->db) - q0);
	a.micros = clock_mono_us() - t0;
	log_access(&a);
	http_response_free(&resp);
	free(body);
	/*
	 * A big answer (a list of 1000 personas) leaves a big heap behind;
	 * give it back, so that an idle worker stays small.
	 */
	if (sent > 64 * 1024)
		malloc_trim(0);
}

/* Runs the background task; returns when it wants to run next (0: never). */
static int64_t
worker_run_task(struct app *app, app_task task)
{
	int in_s;

	if (task == NULL)
		return 0;
	in_s = task(app);
	return in_s > 0 ? clock_mono_us() + (int64_t)in_s * 1000000 : 0;
}

int
worker_main(int argc, char **argv, const char *name, app_handler handler,
    app_task task)
{
	struct config		 cfg;
	struct app		 app;
	struct sigaction	 sa;
	FCGX_Request		 fr;
	char			 err[256], appname[64];
	int			 level, rc;
	int64_t			 task_at = 0;
	bool			 drain = argc == 2 && strcmp(argv[1], "--drain") == 0;

	if (argc > 1 && !drain) {
		dprintf(STDERR_FILENO, "usage: %s [--drain]\n", name);
		return 2;
	}
	if (!config_load(&cfg, err, sizeof(err))) {
		dprintf(STDERR_FILENO, "%s: configuration: %s\n", name, err);
		return 1;
	}
	level = log_level_parse(cfg.log_level);
	log_init(name, level < 0 ? LOG_INFO : (enum log_level)level);
	if (getuid() == 0 || geteuid() == 0) {
		log_warnx("refusing to run as root: start me with "
		    "spawn-fcgi -u/-g (scripts/stack does)");
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: accept(2) must return */
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	snprintf(appname, sizeof(appname), "%s:%ld", name, (long)getpid());
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	app.db = db_new(cfg.database_url, appname, cfg.pg_connect_timeout_ms,
	    cfg.pg_statement_timeout_ms);
	app.cache = cache_open(cfg.cache_path, cfg.cache_busy_timeout_ms);
	if (app.db == NULL || app.cache == NULL) {
		log_warnx("out of memory at start-up");
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		log_warnx("curl_global_init failed: no video provider");
	else if ((app.provider = provider_new(cfg.provider_url,
	    cfg.provider_token, cfg.pg_connect_timeout_ms,
	    cfg.provider_timeout_ms)) == NULL)
		log_warnx("PROVIDER_URL is not an http(s) URL: %s",
		    cfg.provider_url);
	if (drain) {
		/* The command form: apply what is due, then exit. */
		int64_t until = clock_mono_us() + 60 * 1000000LL;

		while (task != NULL && task(&app) <= 1 &&
		    clock_mono_us() < until)
			usleep(200000);
		goto out;
	}
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_warnx("FCGX_Init failed");
		return 1;
	}
	log_msg(LOG_INFO, "started (cache %s, urls %s, sessions %s)",
	    cfg.cache_path, cfg.cache_urls ? "on" : "off",
	    cfg.cache_sessions ? "on" : "off");

	task_at = worker_run_task(&app, task);
	for (;;) {
		worker_alarmed = 0;
		worker_arm_timer(&app, task_at);
		rc = FCGX_Accept_r(&fr);
		worker_disarm_idle_timer();
		/*
		 * Our timer interrupted accept: do the idle work. Any other
		 * interruption is libfcgi's shutdown (SIGTERM, SIGUSR1).
		 */
		if (rc == -EINTR && worker_alarmed) {
			worker_alarmed = 0;
			if (task_at > 0 && clock_mono_us() >= task_at)
				task_at = worker_run_task(&app, task);
			db_close_idle(app.db, cfg.pg_idle_timeout_s);
			continue;
		}
		if (rc < 0)
			break;
		worker_serve(&app, handler, &fr);
		/* After the response is finished: the client is not waiting. */
		if (task != NULL)
			task_at = worker_run_task(&app, task);
	}
	log_msg(LOG_INFO, "stopping (accept returned %d)", rc);
	FCGX_Free(&fr, 1);
out:
	db_free(app.db);
	cache_close(app.cache);
	provider_free(app.provider);
	curl_global_cleanup();
	return 0;
}
