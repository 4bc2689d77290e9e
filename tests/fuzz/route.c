/*
 * route.c: libFuzzer harness of the route and id parsing.
 *
 * The input is a request line as lighttpd hands it over: its first byte
 * picks the method (GET, POST, PUT, DELETE, "get" or none at all), the
 * rest is REQUEST_URI, raw (a NUL ends it, as it ends a FastCGI
 * parameter). The request is read by worker_read_request, then given to
 * the handler of each of the three executables (personas_handle,
 * idle_video_handle, video_complete_handle), which is what their workers
 * do. Without an Authorization header no handler gets past its route,
 * method and authentication checks, so no database, cache or provider is
 * needed: the handlers run with an empty struct app. A second request
 * with a well-formed token reaches idle_video_handle's malformed-id answer
 * (only when idle_video_route says the id is malformed: a valid one would
 * go on to the cache).
 *
 * Properties checked beyond the sanitizers': the path stops at the query;
 * each handler answers 404 off its route, 405 with its Allow header for
 * another method, else 401 without a token (400 for a malformed id with
 * one); an error always has a JSON body with an "error" code; an id that
 * idle_video_route accepts is the lower-cased UUID between the route's
 * prefix and suffix, and a lower-case UUID there is always accepted.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "idle_video.h"
#include "log.h"
#include "personas.h"
#include "video_complete.h"
#include "worker.h"

#define PREFIX	"/api/personas/"
#define SUFFIX	"/idle-video"
#define TOKEN	"Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "get",
    NULL };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-route", LOG_ERROR);
	return 0;
}

/* Whether the handler refused with status and a JSON error body. */
static bool
refused(const struct http_response *resp, int status)
{
	json_object	*v;

	return resp->status == status && resp->body != NULL &&
	    json_object_object_get_ex(resp->body, "error", &v) &&
	    json_object_is_type(v, json_type_string);
}

/* The 405 of a handler that allows allow. */
static bool
refused_method(const struct http_response *resp, const char *allow)
{
	return refused(resp, 405) && resp->allow != NULL &&
	    strcmp(resp->allow, allow) == 0;
}

/* Our own reading of "PREFIX <uuid> SUFFIX", either case. */
static bool
uuid_path(const char *path, size_t len, bool lower_only)
{
	const size_t	 pre = strlen(PREFIX), suf = strlen(SUFFIX);
	const char	*id = path + pre;

	if (len != pre + VALID_UUID_LEN + suf ||
	    memcmp(path, PREFIX, pre) != 0 ||
	    memcmp(id + VALID_UUID_LEN, SUFFIX, suf) != 0)
		return false;
	for (size_t i = 0; i < VALID_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return false;
		} else if (!fuzz_all_in(id + i, 1, lower_only ?
		    "0123456789abcdef" : "0123456789abcdefABCDEF"))
			return false;
	}
	return true;
}

/* The request of one input, answered by one handler. */
static void
serve(app_handler handler, char **envp, struct http_request *req,
    struct http_response *resp, char **body)
{
	struct fuzz_fcgi	 f;
	struct app		 app;

	memset(&app, 0, sizeof(app));
	fuzz_fcgi_init(&f, envp, "", 0, 1);
	http_response_init(resp);
	/* No Content-Length, no body: nothing can refuse this request. */
	FUZZ_CHECK(worker_read_request(&f.req, req, resp, body));
	handler(&app, req, resp);
	fuzz_fcgi_free(&f);
}

static void
check_personas(const struct http_request *req,
    const struct http_response *resp)
{
	const char	*route = "/api/personas";

	if (req->pathlen != strlen(route) ||
	    memcmp(req->path, route, req->pathlen) != 0)
		FUZZ_CHECK(refused(resp, 404));
	else if (req->method != HTTP_GET)
		FUZZ_CHECK(refused_method(resp, "GET"));
	else
		FUZZ_CHECK(refused(resp, 401));
}

static void
check_video_complete(const struct http_request *req,
    const struct http_response *resp)
{
	const char	*route = "/api/video-complete";

	if (req->pathlen != strlen(route) ||
	    memcmp(req->path, route, req->pathlen) != 0)
		FUZZ_CHECK(refused(resp, 404));
	else if (req->method != HTTP_POST)
		FUZZ_CHECK(refused_method(resp, "POST"));
	else
		FUZZ_CHECK(refused(resp, 400));	/* no Content-Type */
}

/* Returns idle_video_route's verdict on the path. */
static int
check_idle_video(const struct http_request *req,
    const struct http_response *resp)
{
	char	 id[VALID_UUID_LEN + 1];
	int	 r = idle_video_route(req->path, req->pathlen, id);

	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r == 1) {
		FUZZ_CHECK(uuid_path(req->path, req->pathlen, false));
		for (size_t i = 0; i < VALID_UUID_LEN; i++)
			FUZZ_CHECK(id[i] == tolower((unsigned char)
			    req->path[strlen(PREFIX) + i]));
		FUZZ_CHECK(id[VALID_UUID_LEN] == '\0');
	}
	if (uuid_path(req->path, req->pathlen, true))
		FUZZ_CHECK(r == 1);
	if (r != 0)
		FUZZ_CHECK(req->pathlen > strlen(PREFIX) + strlen(SUFFIX) &&
		    memcmp(req->path, PREFIX, strlen(PREFIX)) == 0 &&
		    memcmp(req->path + req->pathlen - strlen(SUFFIX), SUFFIX,
		    strlen(SUFFIX)) == 0);

	if (r == 0)
		FUZZ_CHECK(refused(resp, 404));
	else if (req->method != HTTP_GET && req->method != HTTP_POST)
		FUZZ_CHECK(refused_method(resp, "GET, POST"));
	else
		FUZZ_CHECK(refused(resp, 401));
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const app_handler handlers[] = { personas_handle,
	    idle_video_handle, video_complete_handle };
	struct http_request	 req;
	struct http_response	 resp;
	const char		*method;
	char			*envp[4], *m = NULL, *uri, *body;
	size_t			 k = 0;
	int			 r = 0;

	if (size == 0)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	if (method != NULL && asprintf(&m, "REQUEST_METHOD=%s", method) < 0)
		abort();
	if (m != NULL)
		envp[k++] = m;
	if ((uri = malloc(size + strlen("REQUEST_URI="))) == NULL)
		abort();
	memcpy(uri, "REQUEST_URI=", strlen("REQUEST_URI="));
	memcpy(uri + strlen("REQUEST_URI="), data + 1, size - 1);
	uri[strlen("REQUEST_URI=") + size - 1] = '\0';
	envp[k++] = uri;
	envp[k] = NULL;

	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		serve(handlers[i], envp, &req, &resp, &body);
		FUZZ_CHECK(req.path[req.pathlen] == '\0' ||
		    req.path[req.pathlen] == '?');
		FUZZ_CHECK(memchr(req.path, '?', req.pathlen) == NULL);
		if (handlers[i] == personas_handle)
			check_personas(&req, &resp);
		else if (handlers[i] == idle_video_handle)
			r = check_idle_video(&req, &resp);
		else
			check_video_complete(&req, &resp);
		http_response_free(&resp);
		free(body);
	}

	/* With a token, a malformed id is a 400 (after authentication). */
	if (r == -1 && (req.method == HTTP_GET || req.method == HTTP_POST)) {
		static char auth[] = "HTTP_AUTHORIZATION=" TOKEN;

		envp[k++] = auth;
		envp[k] = NULL;
		serve(idle_video_handle, envp, &req, &resp, &body);
		FUZZ_CHECK(refused(&resp, 400));
		http_response_free(&resp);
		free(body);
	}
	free(m);
	free(uri);
	return 0;
}
