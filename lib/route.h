/*
 * route.h: the front door. One table holds every address of the API (its
 * path template, the methods and the body size it takes, its handler and
 * the executable that serves it), and every request of every executable
 * comes in through route_serve: an unknown address (404), a method the
 * address does not take (405, with Allow) and a body over its limit (413)
 * are refused there, before any handler runs or any body byte is read.
 *
 * The path is found the same way whichever server is in front, in one
 * place (route_path): servers fill SCRIPT_NAME, PATH_INFO and REQUEST_URI
 * each their own way, but all of them give REQUEST_URI as the client sent
 * it (lighttpd, nginx's fastcgi_params, Apache's CGI and mod_fcgid).
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "http_io.h"

/* Largest request body any route takes. */
#define ROUTE_BODY_MAX	(64 * 1024)

/* Methods, as bits of struct route's methods. */
#define ROUTE_GET	(1u << HTTP_GET)
#define ROUTE_POST	(1u << HTTP_POST)

struct route {
	const char	*template;	/* "/api/personas/{id}/idle-video" */
	unsigned	 methods;	/* ROUTE_GET | ROUTE_POST */
	const char	*allow;		/* the same, as 405's Allow header */
	size_t		 body_max;	/* a larger body is refused unread */
	const char	*exe;		/* the executable that serves it */
	app_handler	 handler;
};

/*
 * Finds the path of a request from its parameters REQUEST_URI,
 * SCRIPT_NAME and PATH_INFO (each NULL when not given): REQUEST_URI up to
 * its query when the server gives it, else SCRIPT_NAME followed by
 * PATH_INFO (CGI/1.1's minimum), copied into buf. Either way, a mount
 * point before the "/api" segment (a site under /~user/ or /app/) is left
 * out. Sets *path (into uri or buf) and *len; returns false when
 * SCRIPT_NAME and PATH_INFO do not fit into buf.
 */
bool	route_path(const char *uri, const char *script, const char *info,
	    char *buf, size_t bufsz, const char **path, size_t *len);

/*
 * Fills req from the parameters of a request (strings point into them),
 * read in one pass, and its path as route_path finds it (into buf); gives the request its
 * id (route_request_id) in resp, and names it to the log (log_request).
 * Neither the route nor the body are looked at. Returns false with a 400
 * in resp when the path cannot be found.
 */
bool	route_read_params(char *const *params, struct http_request *req,
	    char *buf, size_t bufsz, struct http_response *resp);

/* Whether s is a well-formed request id (HTTP_REQUEST_ID_MAX). */
bool	route_request_id_valid(const char *s);

/*
 * The id of req: a well-formed X-Request-Id, else the front end's own
 * (nginx's $request_id as REQUEST_ID, Apache's mod_unique_id as
 * UNIQUE_ID), else a new one, unique on this host.
 */
void	route_request_id(const struct http_request *req,
	    char id[HTTP_REQUEST_ID_MAX + 1]);

/*
 * Admits a request of the executable exe (NULL: any executable) whose
 * body is content_length bytes: sets req->route, req->param and
 * resp->route, or answers 404, 405 or 413 into resp and returns false.
 */
bool	route_admit(struct http_request *req, struct http_response *resp,
	    const char *exe, long long content_length);

/*
 * Answers a request that is already read (body included), as exe would:
 * route_admit, then the route's handler. For tests and fuzzers.
 */
void	route_answer(struct app *, const char *exe, struct http_request *req,
	    struct http_response *resp);

/*
 * Reads a request of the executable exe from io: its parameters (into
 * req, and its path into buf), then, once route_admit admits it, its body
 * (a POST's: exactly Content-Length bytes, into a new NUL-terminated
 * buffer *body that the caller frees; NULL when none). Returns false with
 * the refusal (400, 404, 405, 413) in resp. route_serve's first half,
 * exported for tests/fuzz/request.c.
 */
bool	route_read_request(struct http_io *io, const char *exe,
	    struct http_request *req, char *buf, size_t bufsz,
	    struct http_response *resp, char **body);

/*
 * Answers one request of the executable exe through io: reads its
 * parameters, admits it, reads its body (bounded by the route's limit),
 * runs the handler and writes the answer. resp is left holding the answer
 * (the caller frees it); logroute receives "METHOD template" for the
 * access log, since the request's strings die with it; *body_read says
 * whether the request's body, if it had one, was read whole (nothing of
 * it is left to arrive: lib/fcgi_io.c may close at once). Returns the
 * size of the body written.
 */
size_t	route_serve(struct app *, const char *exe, struct http_io *io,
	    struct http_response *resp, char *logroute, size_t logroutesz,
	    bool *body_read);

/* Entries of the route table. */
#define ROUTE_COUNT	5

/*
 * The table: ROUTE_COUNT entries, then one with a NULL template. A
 * route's index in it names its metrics (lib/metrics.c).
 */
extern const struct route route_table[ROUTE_COUNT + 1];

#endif /* ROUTE_H */
