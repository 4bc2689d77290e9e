/*
 * route.c: the route table, the path of a request whatever the server,
 * and the checks that every request passes before its handler.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "health.h"
#include "idle_video.h"
#include "log.h"
#include "personas.h"
#include "route.h"
#include "scrape.h"
#include "valid.h"
#include "video_complete.h"

const struct route route_table[] = {
	{ "/api/personas", ROUTE_GET, "GET", 0, "personas",
	  personas_handle },
	/* A POST starts a generation; it needs no body, but "{}" is fine. */
	{ "/api/personas/{id}/idle-video", ROUTE_GET | ROUTE_POST,
	  "GET, POST", 1024, "idle-video", idle_video_handle },
	{ "/api/video-complete", ROUTE_POST, "POST", ROUTE_BODY_MAX,
	  "video-complete", video_complete_handle },
	/* For load balancers; any /api/ address the others do not take goes
	 * to personas, so it is personas' (lib/health.h). */
	{ "/api/health", ROUTE_GET, "GET", 0, "personas", health_handle },
	{ "/api/metrics", ROUTE_GET, "GET", 0, "personas", scrape_handle },
	{ NULL, 0, NULL, 0, NULL, NULL },
};
_Static_assert(sizeof(route_table) / sizeof(route_table[0]) ==
    ROUTE_COUNT + 1, "ROUTE_COUNT is the number of routes");

/* Leaves out whatever comes before the "/api" segment of path. */
static void
route_unmount(const char **path, size_t *len)
{
	const char	*p = *path, *end = *path + *len;

	for (; end - p >= 4; p++)
		if (memcmp(p, "/api", 4) == 0 && (end - p == 4 || p[4] == '/')) {
			*len = (size_t)(end - p);
			*path = p;
			return;
		}
}

bool
route_path(const char *uri, const char *script, const char *info, char *buf,
    size_t bufsz, const char **path, size_t *len)
{
	int	 n;

	if (uri != NULL && *uri != '\0') {
		*path = uri;
		*len = strcspn(uri, "?");
	} else {
		n = snprintf(buf, bufsz, "%s%s", script != NULL ? script : "",
		    info != NULL ? info : "");
		if (n < 0 || (size_t)n >= bufsz)
			return false;
		*path = buf;
		*len = (size_t)n;
	}
	route_unmount(path, len);
	return true;
}

/*
 * Reads the parameters a request needs in one pass over them (the first
 * occurrence of a name wins); the path is route_path's.
 */
bool
route_read_params(char *const *params, struct http_request *req, char *buf,
    size_t bufsz, struct http_response *resp)
{
	const char	*uri = NULL, *script = NULL, *info = NULL;

	memset(req, 0, sizeof(*req));
	for (char *const *p = params; *p != NULL; p++) {
		const char	*kv = *p;
		const char	**dst = NULL;
		size_t		 len = 0;

#define IS(name)	(strncmp(kv, name "=", sizeof(name)) == 0 && \
			    (len = sizeof(name), 1))
		switch (kv[0]) {
		case 'R':
			if (IS("REQUEST_METHOD"))
				dst = &req->method_name;
			else if (IS("REQUEST_ID"))	/* nginx's $request_id */
				dst = &req->front_request_id;
			else if (IS("REMOTE_ADDR"))
				dst = &req->remote_addr;
			else if (IS("REQUEST_URI"))
				dst = &uri;
			break;
		case 'S':
			if (IS("SCRIPT_NAME"))
				dst = &script;
			break;
		case 'P':
			if (IS("PATH_INFO"))
				dst = &info;
			break;
		case 'Q':
			if (IS("QUERY_STRING"))
				dst = &req->query;
			break;
		case 'U':	/* Apache's mod_unique_id */
			if (IS("UNIQUE_ID"))
				dst = &req->front_request_id;
			break;
		case 'C':
			if (IS("CONTENT_LENGTH"))
				dst = &req->content_length;
			else if (IS("CONTENT_TYPE"))
				dst = &req->content_type;
			break;
		case 'H':
			if (IS("HTTP_AUTHORIZATION"))
				dst = &req->authorization;
			else if (IS("HTTP_X_QUICK_CHECK"))
				dst = &req->quick_check_header;
			else if (IS("HTTP_X_REQUEST_ID"))
				dst = &req->request_id_header;
			else if (IS("HTTP_WEBHOOK_ID"))
				dst = &req->webhook_id;
			else if (IS("HTTP_WEBHOOK_TIMESTAMP"))
				dst = &req->webhook_timestamp;
			else if (IS("HTTP_WEBHOOK_SIGNATURE"))
				dst = &req->webhook_signature;
			break;
		default:
			break;
		}
#undef IS
		if (dst != NULL && *dst == NULL)
			*dst = kv + len;
	}
	if (req->method_name == NULL)
		req->method_name = "";
	req->method = strcmp(req->method_name, "GET") == 0 ? HTTP_GET :
	    strcmp(req->method_name, "POST") == 0 ? HTTP_POST : HTTP_OTHER;
	if (req->query == NULL)
		req->query = "";
	req->quick_check = req->quick_check_header != NULL &&
	    strcasecmp(req->quick_check_header, "true") == 0;
	route_request_id(req, resp->request_id);
	req->request_id = resp->request_id;
	log_request(resp->request_id);
	if (!route_path(uri, script, info, buf, bufsz, &req->path,
	    &req->pathlen)) {
		req->path = "";
		http_error(resp, API_BAD_REQUEST, "The address is too long.");
		return false;
	}
	return true;
}

/*
 * Whether path matches template, where "{name}" stands for one non-empty
 * segment; sets *param and *paramlen to that segment.
 */
static bool
route_match(const char *template, const char *path, size_t len,
    const char **param, size_t *paramlen)
{
	const char	*t = template, *p = path, *end = path + len;

	while (*t != '\0') {
		if (*t == '{') {
			const char *seg = p;

			while (p < end && *p != '/')
				p++;
			if (p == seg)
				return false;
			*param = seg;
			*paramlen = (size_t)(p - seg);
			t = strchr(t, '}');
			if (t++ == NULL)
				return false;
			continue;
		}
		if (p == end || *p != *t)
			return false;
		p++;
		t++;
	}
	return p == end;
}

bool
route_admit(struct http_request *req, struct http_response *resp,
    const char *exe, long long content_length)
{
	const struct route	*r;
	char			 msg[160];

	for (r = route_table; r->template != NULL; r++)
		if (route_match(r->template, req->path, req->pathlen,
		    &req->param, &req->paramlen))
			break;
	if (r->template == NULL) {
		req->param = NULL;
		req->paramlen = 0;
		http_error(resp, API_NOT_FOUND, "There is nothing here.");
		return false;
	}
	resp->route = r;
	if (exe != NULL && strcmp(exe, r->exe) != 0) {
		/* The front end's configuration sends it to the wrong place. */
		snprintf(msg, sizeof(msg), "This address is served by the %s "
		    "program, not by %s.", r->exe, exe);
		http_error(resp, API_NOT_FOUND, msg);
		return false;
	}
	if ((r->methods & (1u << req->method)) == 0) {
		app_method_not_allowed(resp, r->allow);
		return false;
	}
	if (content_length > (long long)r->body_max) {
		if (r->body_max == 0)
			snprintf(msg, sizeof(msg), "This address takes no "
			    "request body.");
		else
			snprintf(msg, sizeof(msg), "The request body is larger "
			    "than %zu %s.", r->body_max >= 1024 ?
			    r->body_max / 1024 : r->body_max,
			    r->body_max >= 1024 ? "KiB" : "bytes");
		http_error(resp, API_PAYLOAD_TOO_LARGE, msg);
		return false;
	}
	req->route = r;
	return true;
}

void
route_answer(struct app *app, const char *exe, struct http_request *req,
    struct http_response *resp)
{
	if (route_admit(req, resp, exe, (long long)req->bodylen))
		req->route->handler(app, req, resp);
}

/* Reads exactly len body bytes into a new NUL-terminated buffer. */
static char *
route_read_body(struct http_io *io, size_t len)
{
	char	*buf = malloc(len + 1);
	size_t	 got = 0;
	ssize_t	 n;

	if (buf == NULL)
		return NULL;
	while (got < len && (n = io->read(io, buf + got, len - got)) > 0)
		got += (size_t)n;
	if (got != len) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Writes the answer; returns the size of its body. */
static size_t
route_write(struct http_io *io, const struct http_response *resp)
{
	const char	*body = "";
	size_t		 len = 0, n;
	char		 head[512];

	if (resp->text != NULL) {
		body = resp->text;
		len = resp->textlen;
	} else if (resp->body != NULL)
		body = json_object_to_json_string_length(resp->body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
	n = http_response_head(resp, len, head, sizeof(head));
	if (io->write(io, head, n))
		(void)io->write(io, body, len);
	return len;
}

bool
route_request_id_valid(const char *s)
{
	size_t	 n = s != NULL ? strnlen(s, HTTP_REQUEST_ID_MAX + 1) : 0;

	return n > 0 && n <= HTTP_REQUEST_ID_MAX && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    == n;
}

void
route_request_id(const struct http_request *req,
    char id[HTTP_REQUEST_ID_MAX + 1])
{
	static char		 prefix[17];
	static unsigned long	 counter;
	const char		*given = route_request_id_valid(
	    req->request_id_header) ? req->request_id_header :
	    route_request_id_valid(req->front_request_id) ?
	    req->front_request_id : NULL;

	char			*p;
	unsigned long		 n;

	if (given != NULL) {
		/* Valid: at most HTTP_REQUEST_ID_MAX bytes. */
		memcpy(id, given, strlen(given) + 1);
		return;
	}
	/*
	 * Ours: 64 random bits drawn once per process, and a counter, so
	 * that making one costs no system call.
	 */
	if (prefix[0] == '\0') {
		uint64_t	 r;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint64_t)getpid() << 32 ^ (uint64_t)clock_mono_us();
		snprintf(prefix, sizeof(prefix), "%016llx", (unsigned long long)r);
	}
	/* "<prefix>-<counter>", without printf: one per request. */
	memcpy(id, prefix, 16);
	id[16] = '-';
	p = id + HTTP_REQUEST_ID_MAX;	/* 17 + 20 digits fit */
	*p = '\0';
	n = ++counter;
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	memmove(id + 17, p, (size_t)(id + HTTP_REQUEST_ID_MAX - p) + 1);
}

bool
route_read_request(struct http_io *io, const char *exe,
    struct http_request *req, char *buf, size_t bufsz,
    struct http_response *resp, char **body)
{
	long long	 clen = 0;

	*body = NULL;
	if (!route_read_params(io->params, req, buf, bufsz, resp))
		return false;
	if (req->content_length != NULL && *req->content_length != '\0' &&
	    !valid_int(req->content_length, 0, LLONG_MAX, &clen)) {
		http_error(resp, API_BAD_REQUEST, "Content-Length is malformed.");
		return false;
	}
	if (!route_admit(req, resp, exe, clen))
		return false;
	if (req->method == HTTP_POST) {
		if ((*body = route_read_body(io, (size_t)clen)) == NULL) {
			http_error(resp, API_BAD_REQUEST,
			    "The request body is shorter than its length.");
			return false;
		}
		req->body = *body;
		req->bodylen = (size_t)clen;
	}
	/* A POST's body was read; another request's is whole only if empty. */
	req->body_whole = req->method == HTTP_POST || clen == 0;
	return true;
}

/* "METHOD template" into buf (bufsz > 0), cut to fit: the log's route. */
static void
route_log_name(char *buf, size_t bufsz, const char *method,
    const char *template)
{
	size_t	 m = strnlen(method, bufsz - 1), t;

	memcpy(buf, method, m);
	if (m < bufsz - 1)
		buf[m++] = ' ';
	t = strnlen(template, bufsz - 1 - m);
	memcpy(buf + m, template, t);
	buf[m + t] = '\0';
}

size_t
route_serve(struct app *app, const char *exe, struct http_io *io,
    struct http_response *resp, char *logroute, size_t logroutesz,
    bool *body_read)
{
	struct http_request	 req;
	char			 pathbuf[2048], *body;
	size_t			 sent;

	*body_read = false;
	if (route_read_request(io, exe, &req, pathbuf, sizeof(pathbuf), resp,
	    &body)) {
		*body_read = req.body_whole;
		req.route->handler(app, &req, resp);
	}
	sent = route_write(io, resp);
	route_log_name(logroute, logroutesz, req.method_name,
	    resp->route != NULL ? resp->route->template : "-");
	free(body);
	return sent;
}
