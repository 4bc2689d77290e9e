/*
 * request.c: libFuzzer harness of the request reading path.
 *
 * Before any handler runs, the front door turns the parameters into a
 * struct http_request, admits the request (route, method, size) and reads
 * a POST body of CONTENT_LENGTH bytes: route_read_request (lib/route.c,
 * exported for this harness), the very function route_serve calls, here
 * through lib/fcgi_io.c as a FastCGI worker reads. libfcgi's own record
 * parsing is not ours and is left out: the harness hands over an
 * FCGX_Request as FCGX_Accept_r leaves it, with the parameters in envp and
 * an input stream that yields the body in pieces, like libfcgi yields
 * FCGI_STDIN records.
 *
 * Input: the first byte sets the size of the pieces (1 to 256 bytes); then
 * parameters "NAME=VALUE", one a line (a NUL ends one, as in FastCGI), up
 * to an empty line; the rest is what the client sent as the body (it may
 * be shorter or longer than CONTENT_LENGTH says).
 *
 * Properties: the first occurrence of a parameter counts; a Content-Length
 * that is not a canonical integer, or over ROUTE_BODY_MAX, or a POST body
 * shorter than it, is refused before any handler, with a 4xx JSON error
 * and no body kept; an accepted request has a route whose limit its
 * Content-Length keeps; an accepted POST's body is exactly the first
 * Content-Length bytes sent, NUL-terminated; another method's body is not
 * read; the path is an "/api/" address that ends REQUEST_URI's path (when
 * it is given) at its query.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "fcgi_io.h"
#include "route.h"

#define PARAMS_MAX	32

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-request", LOG_ERROR);
	return 0;
}

/* The value of the first "name=..." in envp, or NULL. */
static const char *
param(char **envp, const char *name)
{
	size_t	 len = strlen(name);

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

/*
 * Whether a Content-Length must be refused: not digits without a leading
 * zero, or more than ROUTE_BODY_MAX. Sets *len otherwise.
 */
static bool
length_bad(const char *s, size_t *len)
{
	size_t	 n = 0, i;

	*len = 0;
	if (s == NULL || *s == '\0')
		return false;		/* none: no body */
	if (s[0] == '0' && s[1] != '\0')
		return true;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 7)
			return true;	/* 7 digits are past 64 KiB */
		n = n * 10 + (size_t)(s[i] - '0');
	}
	if (i == 0 || n > ROUTE_BODY_MAX)
		return true;
	*len = n;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fcgi	 f;
	struct fcgi_io		 fio;
	char			 pathbuf[2048];
	struct http_request	 req;
	struct http_response	 resp;
	char			*envp[PARAMS_MAX + 1], *buf, *p, *end, *body;
	const char		*method, *uri, *sent;
	size_t			 n = 0, clen, sentlen, chunk;
	bool			 post, ok, must_refuse;
	json_object		*v;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	if ((buf = malloc(size)) == NULL)
		abort();
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	end = buf + size - 1;

	/* Parameters, a line each, up to an empty line or the end. */
	for (p = buf; p < end && *p != '\n' && n < PARAMS_MAX;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		envp[n++] = p;
		if (nl == NULL) {
			p = end;
			break;
		}
		*nl = '\0';
		p = nl + 1;
	}
	envp[n] = NULL;
	if (p < end && *p == '\n')
		p++;
	sent = p;
	sentlen = (size_t)(end - p);

	method = param(envp, "REQUEST_METHOD");
	post = method != NULL && strcmp(method, "POST") == 0;
	must_refuse = length_bad(param(envp, "CONTENT_LENGTH"), &clen) ||
	    (post && clen > sentlen);

	fuzz_fcgi_init(&f, envp, sent, sentlen, chunk);
	http_response_init(&resp);
	memset(&fio, 0, sizeof(fio));
	fio.fr = f.req;
	fcgi_io_attach(&fio);
	ok = route_read_request(&fio.io, NULL, &req, pathbuf, sizeof(pathbuf),
	    &resp, &body);
	if (must_refuse)
		FUZZ_CHECK(!ok);
	if (ok) {
		FUZZ_CHECK(req.method == (post ? HTTP_POST :
		    method != NULL && strcmp(method, "GET") == 0 ? HTTP_GET :
		    HTTP_OTHER));
		FUZZ_CHECK(req.route != NULL && clen <= req.route->body_max);
		FUZZ_CHECK(req.pathlen >= 5 &&
		    memcmp(req.path, "/api/", 5) == 0);
		uri = param(envp, "REQUEST_URI");
		if (uri != NULL && *uri != '\0')
			FUZZ_CHECK(req.path >= uri &&
			    req.path + req.pathlen == uri + strcspn(uri, "?"));
		FUZZ_CHECK(req.query != NULL);
		if (post) {
			FUZZ_CHECK(body != NULL && req.body == body);
			FUZZ_CHECK(req.bodylen == clen && body[clen] == '\0');
			FUZZ_CHECK(memcmp(body, sent, clen) == 0);
		} else
			FUZZ_CHECK(body == NULL && req.body == NULL);
		FUZZ_CHECK(resp.body == NULL);
	} else {
		FUZZ_CHECK(body == NULL);
		FUZZ_CHECK(resp.status >= 400 && resp.status < 500 &&
		    resp.body != NULL &&
		    json_object_object_get_ex(resp.body, "error", &v));
	}
	http_response_free(&resp);
	free(body);
	fuzz_fcgi_free(&f);
	free(buf);
	return 0;
}
