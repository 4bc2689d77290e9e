/*
 * worker.h: the life of every executable in cgi-bin/.
 *
 * Reads the configuration and opens the cache, then answers requests
 * through lib/route.c's front door. Started by a FastCGI server (a
 * listening socket at fd 0), it answers them one at a time: the wait for
 * the next one is a poll(2) of the socket, with no signal or timer that
 * could interrupt a request; while the worker holds an idle PostgreSQL
 * connection, the poll's timeout closes it when it expires, so that a
 * quiet worker does not hold a connection forever. SIGTERM or SIGUSR1 end
 * the loop after the current request, and the worker answers the
 * connections already waiting on its socket (at most WORKER_DRAIN_MAX)
 * before it exits. Started as plain CGI (anything
 * else at fd 0), it answers its one request and exits. Either way each
 * request writes one access-log line.
 */
#ifndef WORKER_H
#define WORKER_H

/* Asked to stop, a FastCGI worker answers at most this many waiting requests. */
#define WORKER_DRAIN_MAX		64

/* Plain CGI: a request body that stops arriving this long is given up. */
#define WORKER_CGI_READ_TIMEOUT_MS	30000

/*
 * Runs the executable named name (used in logs, in PostgreSQL's
 * application_name, and to find the routes it serves). Returns the
 * process exit status.
 */
int	worker_main(int argc, char **argv, const char *name);

#endif /* WORKER_H */
