/*
 * worker.h: the FastCGI accept loop every executable in cgi-bin/ runs.
 *
 * Reads the configuration, opens the cache, then answers requests one at
 * a time with the given handler, writing one access-log line each. The
 * wait for the next request is a poll(2) of the socket, with no signal or
 * timer that could interrupt a request: while the worker holds an idle
 * PostgreSQL connection, the poll's timeout closes it when it expires, so
 * that a quiet worker does not hold a connection forever. SIGTERM or
 * SIGUSR1 end the loop after the current request.
 */
#ifndef WORKER_H
#define WORKER_H

#include "app.h"

/* Largest request body accepted; larger ones answer 413 unread. */
#define WORKER_BODY_MAX	(64 * 1024)

struct FCGX_Request;

/*
 * Runs the worker named name (used in logs and in PostgreSQL's
 * application_name); handler answers requests. Returns the process exit
 * status.
 */
int	worker_main(int argc, char **argv, const char *name,
	    app_handler handler);

/*
 * Fills req from an accepted request's FastCGI parameters (fr's envp) and,
 * for a POST, reads exactly CONTENT_LENGTH body bytes from fr's input
 * stream into a new NUL-terminated buffer, stored in *body (the caller
 * frees it; NULL when there is none). req's strings point into envp and
 * *body. Returns false, with resp holding the 400 or 413 answer and
 * *body NULL, when the request is refused before any handler: a
 * malformed or too large Content-Length, or a body shorter than it.
 * Exported for tests/fuzz/request.c; worker_main is its only caller.
 */
bool	worker_read_request(struct FCGX_Request *fr, struct http_request *req,
	    struct http_response *resp, char **body);

#endif /* WORKER_H */
