/*
 * route.c: libFuzzer harness of the front door (lib/route.c) and of the
 * persona id.
 *
 * The input is a request line as a server hands it over: its first byte
 * picks the method (GET, POST, PUT, DELETE, "get" or none at all), the
 * rest is REQUEST_URI, raw (a NUL ends it, as it ends a parameter). The
 * request is read by route_read_params and answered (route_admit, then
 * the handler) as each of the three executables (personas, idle-video,
 * video-complete) would (GET /api/health only admitted: it would ask the
 * cache and PostgreSQL). Without an Authorization header no handler gets past
 * authentication, so no database, cache or provider is needed: the
 * handlers run with an empty struct app. A second request with a
 * well-formed token reaches idle_video_handle's malformed-id answer (only
 * when the id is malformed: a valid one would go on to the cache).
 *
 * Properties checked beyond the sanitizers': the path is REQUEST_URI's,
 * from its "/api" segment to its query; an address answers 404 unless it
 * is exactly one of the table's, and unless the executable asked is the
 * one that serves it; then 405 with the route's Allow for another method;
 * else the handler's 401 without a token (400 for video-complete's missing
 * Content-Type, 400 for a malformed id with a token); an error always has
 * a JSON body with an "error" code; a lower- or upper-case UUID id is
 * always admitted.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "route.h"

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

/* Our own reading of the address: the executable that serves it. */
static const char *
owner_of(const char *path, size_t len, bool *uuid_ok)
{
	const size_t	 pre = strlen(PREFIX), suf = strlen(SUFFIX);

	*uuid_ok = false;
	if (len == strlen("/api/personas") &&
	    memcmp(path, "/api/personas", len) == 0)
		return "personas";
	if (len == strlen("/api/health") && memcmp(path, "/api/health", len) == 0)
		return "health";	/* personas', answered with no handler here */
	if (len == strlen("/api/video-complete") &&
	    memcmp(path, "/api/video-complete", len) == 0)
		return "video-complete";
	if (len > pre + suf && memcmp(path, PREFIX, pre) == 0 &&
	    memcmp(path + len - suf, SUFFIX, suf) == 0 &&
	    memchr(path + pre, '/', len - pre - suf) == NULL) {
		*uuid_ok = uuid_path(path, len, false);
		return "idle-video";
	}
	return NULL;
}

/* The request of one input, answered as exe. */
static void
serve(const char *exe, char **envp, struct http_request *req,
    struct http_response *resp)
{
	static char	 buf[2048];
	struct app	 app;

	memset(&app, 0, sizeof(app));
	http_response_init(resp);
	/* REQUEST_URI is given: the path needs no room of its own. */
	FUZZ_CHECK(route_read_params(envp, req, buf, sizeof(buf), resp));
	/* Health asks the cache and PostgreSQL: admitted, not answered. */
	if (route_admit(req, resp, exe, 0) &&
	    strcmp(req->route->template, "/api/health") != 0)
		req->route->handler(&app, req, resp);
}

static void
check(const char *exe, const struct http_request *req,
    const struct http_response *resp, const char *owner)
{
	if (owner != NULL && strcmp(owner, "health") == 0 &&
	    strcmp(exe, "personas") == 0)
		FUZZ_CHECK(req->method == HTTP_GET ? req->route != NULL :
		    refused_method(resp, "GET"));
	else if (owner == NULL || strcmp(owner, exe) != 0)
		FUZZ_CHECK(refused(resp, 404));
	else if (strcmp(exe, "personas") == 0)
		FUZZ_CHECK(req->method == HTTP_GET ? refused(resp, 401) :
		    refused_method(resp, "GET"));
	else if (strcmp(exe, "video-complete") == 0)
		FUZZ_CHECK(req->method == HTTP_POST ? refused(resp, 400) :
		    refused_method(resp, "POST"));
	else
		FUZZ_CHECK(req->method == HTTP_GET || req->method == HTTP_POST ?
		    refused(resp, 401) : refused_method(resp, "GET, POST"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const exes[] = { "personas", "idle-video",
	    "video-complete" };
	struct http_request	 req;
	struct http_response	 resp;
	const char		*method, *raw, *start, *owner;
	char			*envp[4], *m = NULL, *uri;
	size_t			 k = 0, rawlen;
	bool			 uuid_ok;

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
	raw = uri + strlen("REQUEST_URI=");
	rawlen = strcspn(raw, "?");

	for (size_t i = 0; i < sizeof(exes) / sizeof(exes[0]); i++) {
		serve(exes[i], envp, &req, &resp);
		/*
		 * The path: REQUEST_URI's, from a "/api" segment on, if any;
		 * an empty REQUEST_URI counts as none (no SCRIPT_NAME either).
		 */
		if (*raw == '\0')
			FUZZ_CHECK(req.pathlen == 0);
		else
			FUZZ_CHECK(req.path >= raw && req.path + req.pathlen ==
			    raw + rawlen);
		start = req.path;
		if (*raw != '\0' && start != raw)
			FUZZ_CHECK(req.pathlen >= 4 &&
			    memcmp(start, "/api", 4) == 0 &&
			    (req.pathlen == 4 || start[4] == '/'));
		owner = owner_of(req.path, req.pathlen, &uuid_ok);
		check(exes[i], &req, &resp, owner);
		http_response_free(&resp);
	}

	/* With a token, a malformed id is a 400 (after authentication). */
	owner = owner_of(req.path, req.pathlen, &uuid_ok);
	if (owner != NULL && strcmp(owner, "idle-video") == 0 && !uuid_ok &&
	    (req.method == HTTP_GET || req.method == HTTP_POST)) {
		static char auth[] = "HTTP_AUTHORIZATION=" TOKEN;

		envp[k++] = auth;
		envp[k] = NULL;
		serve("idle-video", envp, &req, &resp);
		FUZZ_CHECK(refused(&resp, 400));
		http_response_free(&resp);
	}
	free(m);
	free(uri);
	return 0;
}
