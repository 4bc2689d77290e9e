/*
 * Unit tests of lib/route.c (the path as each server gives it, the checks
 * before any handler) and of the answer's head (lib/http.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "route.h"

#define ID	"0b7e9d1c-3f52-4c1e-9a66-0d4a2b8c9e10"
#define IV	"/api/personas/" ID "/idle-video"

/*
 * One request for IV with ?x=1, as each server fills its parameters; all
 * of them must give the same path.
 */
static const struct {
	const char	*server;
	const char	*params[4];
	const char	*want;
} path_cases[] = {
	{ "lighttpd, fix-root-scriptname", { "SCRIPT_NAME=",
	  "PATH_INFO=" IV, "REQUEST_URI=" IV "?x=1", NULL }, IV },
	{ "lighttpd, a socket per prefix", { "SCRIPT_NAME=/api/personas",
	  "PATH_INFO=/" ID "/idle-video", "REQUEST_URI=" IV "?x=1", NULL },
	  IV },
	{ "nginx, fastcgi_params", { "SCRIPT_NAME=" IV,
	  "REQUEST_URI=" IV "?x=1", "DOCUMENT_URI=" IV, NULL }, IV },
	{ "Apache, ScriptAliasMatch", { "SCRIPT_NAME=" IV,
	  "REQUEST_URI=" IV "?x=1", NULL, NULL }, IV },
	{ "Apache, .htaccess rewrite to a script",
	  { "SCRIPT_NAME=/cgi-bin/idle-video.cgi", "REQUEST_URI=" IV "?x=1",
	  "SCRIPT_FILENAME=/home/a/www/cgi-bin/idle-video.cgi", NULL }, IV },
	{ "Apache, a site under /~alice/", { "SCRIPT_NAME=/~alice/cgi-bin/i",
	  "REQUEST_URI=/~alice" IV "?x=1", NULL, NULL }, IV },
	{ "CGI/1.1 minimum: no REQUEST_URI", { "SCRIPT_NAME=/api/personas",
	  "PATH_INFO=/" ID "/idle-video", "QUERY_STRING=x=1", NULL }, IV },
	{ "CGI/1.1, a script with the path after it",
	  { "SCRIPT_NAME=/cgi-bin/api.cgi", "PATH_INFO=" IV, NULL, NULL }, IV },
	{ "nothing at all", { NULL, NULL, NULL, NULL }, "" },
	{ "no /api segment", { "REQUEST_URI=/apix/personas", NULL, NULL,
	  NULL }, "/apix/personas" },
	{ "just /api", { "REQUEST_URI=/app/api?x", NULL, NULL, NULL }, "/api" },
};

static void
test_route_path_each_server(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		struct http_request	 req;
		struct http_response	 resp;
		char			 buf[256];
		const char		*path;
		size_t			 len;

		http_response_init(&resp);
		if (!route_read_params((char *const *)path_cases[i].params,
		    &req, buf, sizeof(buf), &resp))
			fail_msg("%s: no path", path_cases[i].server);
		log_request(NULL);
		path = req.path;
		len = req.pathlen;
		if (len != strlen(path_cases[i].want) ||
		    memcmp(path, path_cases[i].want, len) != 0)
			fail_msg("%s: \"%.*s\", not \"%s\"", path_cases[i].server,
			    (int)len, path, path_cases[i].want);
	}
}

static void
test_route_path_too_long(void **state)
{
	char		 buf[16];
	const char	*path;
	size_t		 len;

	(void)state;
	assert_false(route_path(NULL, "/api/personas", "/0123456789", buf,
	    sizeof(buf), &path, &len));
}

/* Admits METHOD PATH with a body of clen bytes as exe; returns the status. */
static int
admit(const char *exe, const char *method, const char *path, long long clen,
    struct http_response *resp, struct http_request *req)
{
	static char	 uri[256], meth[64], buf[256];	/* req points into them */
	char		*params[] = { uri, meth, NULL };
	int		 status;

	snprintf(uri, sizeof(uri), "REQUEST_URI=%s", path);
	snprintf(meth, sizeof(meth), "REQUEST_METHOD=%s", method);
	http_response_init(resp);
	assert_true(route_read_params(params, req, buf, sizeof(buf), resp));
	status = route_admit(req, resp, exe, clen) ? 0 : resp->status;
	/* Every refusal is a JSON error. */
	if (status != 0)
		assert_non_null(resp->body);
	http_response_free(resp);
	return status;
}

static void
test_route_admit(void **state)
{
	struct http_response	 r;
	struct http_request	 q;

	(void)state;
	assert_int_equal(admit("personas", "GET", "/api/personas?limit=5", 0,
	    &r, &q), 0);
	assert_string_equal(q.route->template, "/api/personas");
	assert_string_equal(r.route->template, "/api/personas");
	assert_string_equal(q.query, "");	/* no QUERY_STRING was given */

	assert_int_equal(admit("idle-video", "POST", IV, 2, &r, &q), 0);
	assert_int_equal((int)q.paramlen, (int)strlen(ID));
	assert_memory_equal(q.param, ID, strlen(ID));
	assert_int_equal(admit("idle-video", "GET", "/api/personas/x/idle-video",
	    0, &r, &q), 0);
	assert_memory_equal(q.param, "x", 1);

	/* Unknown addresses, whoever is asked. */
	assert_int_equal(admit("personas", "GET", "/api/nothing", 0, &r, &q), 404);
	assert_int_equal(admit("personas", "GET", "/api/personas/", 0, &r, &q), 404);
	assert_int_equal(admit("idle-video", "GET", "/api/personas//idle-video",
	    0, &r, &q), 404);
	assert_int_equal(admit("idle-video", "GET", IV "/", 0, &r, &q), 404);
	assert_int_equal(admit(NULL, "GET", "/api", 0, &r, &q), 404);
	/* An address of another executable: the front end misroutes. */
	assert_int_equal(admit("personas", "GET", IV, 0, &r, &q), 404);
	assert_null(q.route);
	assert_int_equal(admit(NULL, "GET", IV, 0, &r, &q), 0);

	/* Methods: 405 with the route's own Allow, before the size. */
	assert_int_equal(admit("personas", "POST", "/api/personas", 99999, &r,
	    &q), 405);
	assert_string_equal(r.allow, "GET");
	assert_int_equal(admit("idle-video", "DELETE", IV, 0, &r, &q), 405);
	assert_string_equal(r.allow, "GET, POST");
	assert_int_equal(admit("idle-video", "get", IV, 0, &r, &q), 405);
	assert_int_equal(admit("video-complete", "GET", "/api/video-complete",
	    0, &r, &q), 405);
	assert_string_equal(r.allow, "POST");

	/* Sizes: each route's own limit. */
	assert_int_equal(admit("personas", "GET", "/api/personas", 1, &r, &q),
	    413);
	assert_int_equal(admit("idle-video", "POST", IV, 1024, &r, &q), 0);
	assert_int_equal(admit("idle-video", "POST", IV, 1025, &r, &q), 413);
	assert_int_equal(admit("video-complete", "POST", "/api/video-complete",
	    ROUTE_BODY_MAX, &r, &q), 0);
	assert_int_equal(admit("video-complete", "POST", "/api/video-complete",
	    ROUTE_BODY_MAX + 1, &r, &q), 413);
}

static void
test_route_table_is_sound(void **state)
{
	(void)state;
	for (const struct route *r = route_table; r->template != NULL; r++) {
		assert_non_null(r->handler);
		assert_non_null(r->exe);
		assert_true(r->body_max <= ROUTE_BODY_MAX);
		assert_true(r->methods != 0 &&
		    (r->methods & ~(ROUTE_GET | ROUTE_POST)) == 0);
		assert_string_equal(r->allow,
		    r->methods == ROUTE_GET ? "GET" :
		    r->methods == ROUTE_POST ? "POST" : "GET, POST");
		assert_memory_equal(r->template, "/api/", 5);
	}
}

static void
test_http_response_head(void **state)
{
	struct http_response	 r;
	char			 head[512];
	size_t			 n;

	(void)state;
	http_response_init(&r);
	r.status = 405;
	r.allow = "GET, POST";
	r.retry_after = 3;
	strcpy(r.request_id, "rid-1");
	n = http_response_head(&r, 42, head, sizeof(head));
	assert_int_equal(n, strlen(head));
	assert_memory_equal(head, "Status: 405 Method Not Allowed\r\n",
	    strlen("Status: 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(head, "\r\nContent-Length: 42\r\n"));
	assert_non_null(strstr(head, "\r\nAllow: GET, POST\r\n"));
	assert_non_null(strstr(head, "\r\nRetry-After: 3\r\n"));
	assert_non_null(strstr(head, "\r\nX-Request-Id: rid-1\r\n"));
	assert_string_equal(head + n - 4, "\r\n\r\n");

	/* Too small a buffer: cut short, still a head that ends. */
	n = http_response_head(&r, 42, head, 24);
	assert_true(n < 24);
	assert_string_equal(head + n - 2, "\r\n");
}

/* The head as lib/http.c formatted it through printf, for comparison. */
static void
head_append(char *buf, size_t bufsz, size_t *n, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(buf + *n, bufsz - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n += (size_t)r < bufsz - *n ? (size_t)r : bufsz - *n - 1;
}

static size_t
head_printf(const struct http_response *r, size_t bodylen, char *buf,
    size_t bufsz)
{
	size_t	 n = 0;

	if (bufsz < 8)
		return 0;
	buf[0] = '\0';
	head_append(buf, bufsz - 2, &n, "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n",
	    r->status, http_reason(r->status), r->content_type != NULL ?
	    r->content_type : "application/json", bodylen);
	if (r->retry_after > 0)
		head_append(buf, bufsz - 2, &n, "Retry-After: %d\r\n",
		    r->retry_after);
	if (r->allow != NULL)
		head_append(buf, bufsz - 2, &n, "Allow: %s\r\n", r->allow);
	if (r->request_id[0] != '\0')
		head_append(buf, bufsz - 2, &n, "X-Request-Id: %s\r\n",
		    r->request_id);
	memcpy(buf + n, "\r\n", 3);
	return n + 2;
}

/* Byte for byte the head it was, whole or cut, for every buffer size. */
static void
test_http_response_head_bytes(void **state)
{
	static const struct {
		int		 line, status, retry;
		const char	*type, *allow, *id;
		size_t		 len;
	} cases[] = {
		{ __LINE__, 200, 0, NULL, NULL, "cb2db4ef1c7b6755-410", 118 },
		{ __LINE__, 200, 0, NULL, NULL, "", 0 },
		{ __LINE__, 503, 1, NULL, NULL, "r", 180 },
		{ __LINE__, 405, 0, NULL, "GET, POST", "x", 95 },
		{ __LINE__, 200, 0, "text/plain; version=0.0.4", NULL, "", 123456789 },
		{ __LINE__, 299, 2147483647, NULL, "GET", "0123456789012345678901234567890123456789012345678901234567890123", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_response r;

		http_response_init(&r);
		r.status = cases[i].status;
		r.retry_after = cases[i].retry;
		r.content_type = cases[i].type;
		r.allow = cases[i].allow;
		snprintf(r.request_id, sizeof(r.request_id), "%s", cases[i].id);
		for (size_t sz = 8; sz <= 600; sz++) {
			char got[600], want[600];
			size_t gn, wn;

			memset(got, 1, sizeof(got));
			memset(want, 1, sizeof(want));
			gn = http_response_head(&r, cases[i].len, got, sz);
			wn = head_printf(&r, cases[i].len, want, sz);
			if (gn != wn || memcmp(got, want, wn + 1) != 0)
				fail_msg("line %d, %zu bytes: \"%.*s\", not \"%.*s\"",
				    cases[i].line, sz, (int)gn, got, (int)wn, want);
		}
	}
}

/* The id that a request with these parameters gets. */
static void
id_of(const char *p1, const char *p2, char *id)
{
	const char		*params[] = { "REQUEST_URI=/api/personas", p1,
	    p2, NULL };
	struct http_request	 req;
	struct http_response	 resp;
	char			 buf[64];

	if (p1 == NULL)
		params[1] = NULL;
	http_response_init(&resp);
	assert_true(route_read_params((char *const *)params, &req, buf,
	    sizeof(buf), &resp));
	assert_ptr_equal(req.request_id, resp.request_id);
	strcpy(id, resp.request_id);
	/* Refusals carry it in their body. */
	http_error(&resp, API_NOT_FOUND, "x");
	assert_string_equal(json_object_get_string(json_object_object_get(
	    resp.body, "requestId")), id);
	http_response_free(&resp);
	log_request(NULL);
}

static void
test_route_request_id(void **state)
{
	char	 id[HTTP_REQUEST_ID_MAX + 1], other[HTTP_REQUEST_ID_MAX + 1];
	char	 longest[100];

	(void)state;
	id_of("HTTP_X_REQUEST_ID=abc.DEF_1-2", NULL, id);
	assert_string_equal(id, "abc.DEF_1-2");
	/* The client's wins over the front end's; a bad one is replaced. */
	id_of("HTTP_X_REQUEST_ID=mine", "REQUEST_ID=nginx", id);
	assert_string_equal(id, "mine");
	id_of("HTTP_X_REQUEST_ID=no spaces", "REQUEST_ID=0123abcd", id);
	assert_string_equal(id, "0123abcd");
	id_of("UNIQUE_ID=YWJjZGVm-apache@", "HTTP_X_REQUEST_ID=", id);
	assert_true(route_request_id_valid(id));
	assert_string_not_equal(id, "");
	snprintf(longest, sizeof(longest), "HTTP_X_REQUEST_ID=%064d", 7);
	id_of(longest, NULL, id);
	assert_int_equal(strlen(id), 64);
	snprintf(longest, sizeof(longest), "HTTP_X_REQUEST_ID=%065d", 7);
	id_of(longest, NULL, id);
	assert_true(strlen(id) < 64 && route_request_id_valid(id));
	/* Ours: well-formed and new each time. */
	id_of(NULL, NULL, id);
	id_of(NULL, NULL, other);
	assert_true(route_request_id_valid(id) && route_request_id_valid(other));
	assert_string_not_equal(id, other);
	{
		char		 p1[17], p2[17];
		unsigned long	 n1, n2;
		int		 c1 = 0, c2 = 0;

		/* 64 random bits in hex, then a counter. */
		assert_int_equal(sscanf(id, "%16[0-9a-f]-%lu%n", p1, &n1, &c1), 2);
		assert_int_equal(sscanf(other, "%16[0-9a-f]-%lu%n", p2, &n2, &c2), 2);
		assert_int_equal(c1, (int)strlen(id));
		assert_int_equal(c2, (int)strlen(other));
		assert_int_equal(strlen(p1), 16);
		assert_string_equal(p1, p2);
		assert_int_equal(n2, n1 + 1);
	}
	assert_false(route_request_id_valid(""));
	assert_false(route_request_id_valid("a/b"));
	assert_false(route_request_id_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_path_each_server),
		cmocka_unit_test(test_route_path_too_long),
		cmocka_unit_test(test_route_admit),
		cmocka_unit_test(test_route_table_is_sound),
		cmocka_unit_test(test_http_response_head),
		cmocka_unit_test(test_http_response_head_bytes),
		cmocka_unit_test(test_route_request_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
