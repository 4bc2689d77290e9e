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

/*
 * Runs the worker named name (used in logs and in PostgreSQL's
 * application_name); handler answers requests. Returns the process exit
 * status.
 */
int	worker_main(int argc, char **argv, const char *name,
	    app_handler handler);

#endif /* WORKER_H */
