/*
 * http.h: a request as the handlers see it, and the answer they give.
 *
 * Nothing here knows FastCGI or CGI: lib/route.c fills a struct
 * http_request from a request's parameters and writes the struct
 * http_response out, so handlers can be tested as plain functions.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

struct route;

/* A request id: at most this many characters of [A-Za-z0-9._-]. */
#define HTTP_REQUEST_ID_MAX	64

enum http_method {
	HTTP_GET,
	HTTP_POST,
	HTTP_OTHER,
};

struct http_request {
	enum http_method method;
	const char	*method_name;	/* REQUEST_METHOD as sent */
	const char	*path;		/* without the query, not decoded */
	size_t		 pathlen;
	const struct route *route;	/* the route admitted, or NULL */
	const char	*param;		/* the {id} segment of path, or NULL */
	size_t		 paramlen;
	const char	*query;		/* QUERY_STRING, "" when none */
	const char	*authorization;	/* Authorization header or NULL */
	const char	*remote_addr;	/* REMOTE_ADDR, or NULL */
	bool		 quick_check;	/* X-Quick-Check: true */
	const char	*quick_check_header; /* X-Quick-Check as sent, or NULL */
	const char	*request_id_header; /* X-Request-Id as sent, or NULL */
	const char	*front_request_id; /* the front end's own, or NULL */
	const char	*request_id;	/* the one in use: resp's request_id */
	const char	*content_length; /* as sent, or NULL */
	const char	*content_type;	/* or NULL */
	const char	*body;		/* POST body (NUL-terminated) or NULL */
	size_t		 bodylen;
	bool		 body_whole;	/* none of the body is left unread */
	/* Webhook headers, NULL when absent. */
	const char	*webhook_id;
	const char	*webhook_timestamp;
	const char	*webhook_signature;
};

/* The error codes of API.md, with their statuses. */
enum api_error {
	API_BAD_REQUEST,
	API_UNAUTHORIZED,
	API_NOT_FOUND,
	API_METHOD_NOT_ALLOWED,
	API_PAYLOAD_TOO_LARGE,
	API_DB_UNAVAILABLE,
	API_PROVIDER_UNAVAILABLE,
	API_RATE_LIMITED,
	API_SERVICE_UNAVAILABLE,
	API_INTERNAL,
	API_ERROR__MAX
};

struct http_response {
	int		 status;
	json_object	*body;		/* owned; NULL for no body */
	char		*text;		/* owned; a body that is not JSON */
	size_t		 textlen;
	const char	*content_type;	/* text's; JSON's when NULL */
	int		 retry_after;	/* seconds, 0 for no header */
	const char	*allow;		/* Allow header of a 405, or NULL */
	const char	*source;	/* for the access log */
	const struct route *route;	/* the route admitted, or NULL */
	/* X-Request-Id, in error bodies and log lines too; "" when none. */
	char		 request_id[HTTP_REQUEST_ID_MAX + 1];
};

/* Empties a response (status 500, no body). */
void	http_response_init(struct http_response *);
/* Releases the body. */
void	http_response_free(struct http_response *);

/* Sets a 200..299 answer with body (whose reference is taken over). */
void	http_ok(struct http_response *, int status, json_object *body);

/*
 * Sets a 200..299 answer whose body is text (len bytes, taken over: it is
 * freed with the response) of the given type.
 */
void	http_text(struct http_response *, int status, const char *type,
	    char *text, size_t len);

/*
 * Sets the error answer {"error": code, "message": message, "requestId":
 * id} (the last when the response has a request id), replacing any body.
 * message is copied.
 */
void	http_error(struct http_response *, enum api_error, const char *message);

/* The reason phrase of a status ("OK", "Not Found", ...). */
const char *http_reason(int status);

/*
 * Formats the head of resp (CGI's "Status:" line, the headers, the empty
 * line) for a body of bodylen bytes into buf. Returns its length; a head
 * that does not fit is cut short, still ending with the empty line.
 */
size_t	http_response_head(const struct http_response *, size_t bodylen,
	    char *buf, size_t bufsz);

/*
 * Finds parameter name in a query string and percent-decodes its value into
 * out. Returns 1 when found, 0 when absent, -1 when the query is malformed,
 * the value does not fit, or the parameter is given twice.
 */
int	http_query_get(const char *query, const char *name, char *out,
	    size_t outsz);

#endif /* HTTP_H */
