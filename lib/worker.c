/*
 * worker.c: the accept loop, request reading and response writing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "clock.h"
#include "log.h"
#include "valid.h"
#include "worker.h"

static volatile sig_atomic_t worker_stopping;

/*
 * SIGTERM and SIGUSR1 (multiwatch's "finish, then exit"): the loop ends
 * after the request in hand. libfcgi is not told (its own flag makes a
 * read in progress return early, which would cut that request short).
 */
static void
worker_on_stop(int sig)
{
	(void)sig;
	worker_stopping = 1;
}

enum worker_wait {
	WAIT_READY,	/* something to read: a connection or a request */
	WAIT_STOP,	/* asked to stop */
	WAIT_ERROR,
};

/*
 * Waits, without a signal or a timer, until fd can be read: the
 * listening socket (a new connection; other idle workers may take it
 * first) or a connection the front end keeps open (its next request).
 * Meanwhile an idle PostgreSQL connection is closed when it expires.
 */
static enum worker_wait
worker_wait(struct app *app, int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	int		 rc, timeout_ms;

	for (;;) {
		if (worker_stopping)
			return WAIT_STOP;
		timeout_ms = -1;
		if (db_connected(app->db))
			timeout_ms = (int)(db_idle_left_us(app->db,
			    app->cfg->pg_idle_timeout_s) / 1000) + 1;
		rc = poll(&pfd, 1, timeout_ms);
		if (rc > 0)
			return WAIT_READY;
		if (rc == 0) {
			db_close_idle(app->db, app->cfg->pg_idle_timeout_s);
			continue;
		}
		if (errno != EINTR) {
			log_warn("poll");
			return WAIT_ERROR;
		}
	}
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

bool
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

int
worker_main(int argc, char **argv, const char *name, app_handler handler)
{
	struct config		 cfg;
	struct app		 app;
	struct sigaction	 sa;
	FCGX_Request		 fr;
	int			 rc = 0, flags;

	(void)argv;
	if (argc > 1) {
		dprintf(STDERR_FILENO, "usage: %s (a FastCGI program: "
		    "spawn-fcgi starts it)\n", name);
		return 2;
	}
	if (!app_open(&app, &cfg, name, APP_WORKER))
		return 1;
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, FCGI_LISTENSOCK_FILENO, 0) != 0) {
		log_warnx("FCGX_Init failed");
		app_close(&app);
		return 1;
	}
	/*
	 * The listening socket is shared by every worker of the set: it is
	 * polled, then accepted without blocking, so that a worker that lost
	 * the race for a connection goes back to waiting (EAGAIN).
	 */
	if ((flags = fcntl(FCGI_LISTENSOCK_FILENO, F_GETFL)) == -1 ||
	    fcntl(FCGI_LISTENSOCK_FILENO, F_SETFL, flags | O_NONBLOCK) == -1) {
		log_warn("the FastCGI socket (fd 0)");
		app_close(&app);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;	/* a read in progress goes on */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_msg(LOG_INFO, "started (cache %s, urls %s, sessions %s)",
	    cfg.cache_path, cfg.cache_urls ? "on" : "off",
	    cfg.cache_sessions ? "on" : "off");

	while (!worker_stopping) {
		/* A kept connection (fr.ipcFd) brings its next request itself. */
		if (worker_wait(&app, fr.ipcFd >= 0 ? fr.ipcFd :
		    FCGI_LISTENSOCK_FILENO) != WAIT_READY)
			break;
		rc = FCGX_Accept_r(&fr);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
			continue;	/* another worker took it */
		if (rc < 0)
			break;
		worker_serve(&app, handler, &fr);
	}
	log_msg(LOG_INFO, "stopping (%s)", worker_stopping ? "asked to" :
	    "accept failed");
	FCGX_Free(&fr, 1);
	app_close(&app);
	return 0;
}
