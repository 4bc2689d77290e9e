/*
 * http.c: responses, error bodies and query-string parsing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static const struct {
	const char	*code;
	int		 status;
} api_errors[API_ERROR__MAX] = {
	{ "bad_request", 400 },			/* API_BAD_REQUEST */
	{ "unauthorized", 401 },		/* API_UNAUTHORIZED */
	{ "not_found", 404 },			/* API_NOT_FOUND */
	{ "method_not_allowed", 405 },		/* API_METHOD_NOT_ALLOWED */
	{ "payload_too_large", 413 },		/* API_PAYLOAD_TOO_LARGE */
	{ "db_unavailable", 503 },		/* API_DB_UNAVAILABLE */
	{ "provider_unavailable", 502 },	/* API_PROVIDER_UNAVAILABLE */
	{ "rate_limited", 429 },		/* API_RATE_LIMITED */
	{ "service_unavailable", 503 },		/* API_SERVICE_UNAVAILABLE */
	{ "internal", 500 },			/* API_INTERNAL */
};

void
http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
	r->source = "-";
}

void
http_response_free(struct http_response *r)
{
	json_object_put(r->body);
	r->body = NULL;
	free(r->text);
	r->text = NULL;
}

void
http_text(struct http_response *r, int status, const char *type, char *text,
    size_t len)
{
	json_object_put(r->body);
	r->body = NULL;
	free(r->text);
	r->status = status;
	r->text = text;
	r->textlen = len;
	r->content_type = type;
}

void
http_ok(struct http_response *r, int status, json_object *body)
{
	json_object_put(r->body);
	r->status = status;
	r->body = body;
}

void
http_error(struct http_response *r, enum api_error e, const char *message)
{
	json_object	*o;

	if ((unsigned)e >= API_ERROR__MAX)
		e = API_INTERNAL;
	json_object_put(r->body);
	free(r->text);
	r->text = NULL;
	r->content_type = NULL;
	r->status = api_errors[e].status;
	r->body = o = json_object_new_object();
	if (o == NULL)
		return;		/* the worker answers a bare 500 */
	json_object_object_add(o, "error",
	    json_object_new_string(api_errors[e].code));
	json_object_object_add(o, "message", json_object_new_string(message));
	if (r->request_id[0] != '\0')
		json_object_object_add(o, "requestId",
		    json_object_new_string(r->request_id));
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* Appends len bytes of s to buf at *n, as far as they fit before end. */
static void
http_put(char *buf, size_t end, size_t *n, const char *s, size_t len)
{
	if (len > end - *n)
		len = end - *n;
	memcpy(buf + *n, s, len);
	*n += len;
}

#define HTTP_PUT(buf, end, n, lit)	http_put((buf), (end), (n), (lit), \
					    sizeof(lit) - 1)

/* Appends v (>= 0) in decimal. */
static void
http_put_uint(char *buf, size_t end, size_t *n, size_t v)
{
	char	 d[24], *p = d + sizeof(d);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	http_put(buf, end, n, p, (size_t)(d + sizeof(d) - p));
}

static void
http_put_str(char *buf, size_t end, size_t *n, const char *s)
{
	http_put(buf, end, n, s, strlen(s));
}

/*
 * Written piece by piece, not through printf: the head of every answer
 * (about 2.5k instructions of a cached answer's, issue 12).
 */
size_t
http_response_head(const struct http_response *r, size_t bodylen, char *buf,
    size_t bufsz)
{
	size_t	 n = 0, end;

	if (bufsz < 8)
		return 0;
	end = bufsz - 3;	/* the empty line and the NUL always fit */
	HTTP_PUT(buf, end, &n, "Status: ");
	http_put_uint(buf, end, &n, (size_t)(r->status < 0 ? 0 : r->status));
	HTTP_PUT(buf, end, &n, " ");
	http_put_str(buf, end, &n, http_reason(r->status));
	HTTP_PUT(buf, end, &n, "\r\nContent-Type: ");
	http_put_str(buf, end, &n, r->content_type != NULL ?
	    r->content_type : "application/json");
	HTTP_PUT(buf, end, &n, "\r\nContent-Length: ");
	http_put_uint(buf, end, &n, bodylen);
	HTTP_PUT(buf, end, &n, "\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n");
	if (r->retry_after > 0) {
		HTTP_PUT(buf, end, &n, "Retry-After: ");
		http_put_uint(buf, end, &n, (size_t)r->retry_after);
		HTTP_PUT(buf, end, &n, "\r\n");
	}
	if (r->allow != NULL) {
		HTTP_PUT(buf, end, &n, "Allow: ");
		http_put_str(buf, end, &n, r->allow);
		HTTP_PUT(buf, end, &n, "\r\n");
	}
	if (r->request_id[0] != '\0') {
		HTTP_PUT(buf, end, &n, "X-Request-Id: ");
		http_put_str(buf, end, &n, r->request_id);
		HTTP_PUT(buf, end, &n, "\r\n");
	}
	memcpy(buf + n, "\r\n", 3);
	return n + 2;
}

static int
http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes s[0..len) ('+' is a space, %XX a byte) into out. Refuses bad
 * escapes, NUL bytes and values that do not fit.
 */
static bool
http_decode(const char *s, size_t len, char *out, size_t outsz)
{
	size_t	 o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return false;
			hi = http_hexval((unsigned char)s[i + 1]);
			lo = http_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= outsz)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

int
http_query_get(const char *query, const char *name, char *out, size_t outsz)
{
	size_t		 namelen = strlen(name);
	const char	*p = query != NULL ? query : "";
	int		 found = 0;

	while (*p != '\0') {
		const char	*end = strchr(p, '&');
		const char	*eq;
		size_t		 len = end != NULL ? (size_t)(end - p) : strlen(p);

		eq = memchr(p, '=', len);
		if (eq != NULL && (size_t)(eq - p) == namelen &&
		    memcmp(p, name, namelen) == 0) {
			if (found)
				return -1;	/* given twice */
			if (!http_decode(eq + 1, len - namelen - 1, out, outsz))
				return -1;
			found = 1;
		} else if (eq == NULL && len == namelen &&
		    memcmp(p, name, namelen) == 0)
			return -1;		/* a name without a value */
		p += len;
		if (*p == '&')
			p++;
	}
	return found;
}
