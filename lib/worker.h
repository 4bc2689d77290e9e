/*
 * worker.h: the FastCGI accept loop every executable in cgi-bin/ runs.
 *
 * Reads the configuration, opens the cache, then answers requests one at
 * a time with the given handler, writing one access-log line each. While
 * the worker holds an idle PostgreSQL connection it wakes up in accept
 * (SIGALRM, FCGI_FAIL_ACCEPT_ON_INTR) to close it after the idle timeout,
 * so a quiet worker does not hold a connection forever. SIGTERM or SIGUSR1
 * end the loop after the current request.
 */
#ifndef WORKER_H
#define WORKER_H

#include "app.h"

/* Largest request body accepted; larger ones answer 413 unread. */
#define WORKER_BODY_MAX	(64 * 1024)

/*
 * Runs the worker named name (used in logs and in PostgreSQL's
 * application_name): handler answers requests, task (or NULL) is the
 * background work (see app_task). With the single argument --drain it
 * runs the task until nothing is due, without serving. Returns the
 * process exit status.
 */
int	worker_main(int argc, char **argv, const char *name,
	    app_handler handler, app_task task);

#endif /* WORKER_H */
