/*
 * worker.c: a worker's life: FastCGI's accept loop, or plain CGI's one
 * request.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fastcgi.h>

#include "cgi_io.h"
#include "clock.h"
#include "fcgi_io.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "worker.h"

static volatile sig_atomic_t worker_stopping;

/*
 * SIGTERM and SIGUSR1 (multiwatch's "finish, then exit"): the loop ends
 * after the request in hand. libfcgi is not told (its own flag makes a
 * read in progress return early, which would cut that request short).
 */
static void
worker_on_stop(int sig)
{
	(void)sig;
	worker_stopping = 1;
}

enum worker_wait {
	WAIT_READY,	/* something to read: a connection or a request */
	WAIT_STOP,	/* asked to stop */
	WAIT_ERROR,
};

/*
 * Waits, without a signal or a timer, until fd can be read: the
 * listening socket (a new connection; other idle workers may take it
 * first) or a connection the front end keeps open (its next request).
 * Meanwhile the access lines of the requests before are written when due
 * (lib/log.h), and an idle PostgreSQL connection is closed when it
 * expires.
 */
static enum worker_wait
worker_wait(struct app *app, int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	int		 rc, timeout_ms, idle_ms;

	for (;;) {
		if (worker_stopping)
			return WAIT_STOP;
		log_reopen();	/* if SIGHUP asked for it */
		timeout_ms = log_flush_due();
		if (db_connected(app->db)) {
			idle_ms = (int)(db_idle_left_us(app->db,
			    app->cfg->pg_idle_timeout_s) / 1000) + 1;
			if (timeout_ms < 0 || idle_ms < timeout_ms)
				timeout_ms = idle_ms;
		}
		rc = poll(&pfd, 1, timeout_ms);
		if (rc > 0)
			return WAIT_READY;
		if (rc == 0) {
			db_close_idle(app->db, app->cfg->pg_idle_timeout_s);
			continue;
		}
		if (errno != EINTR) {
			log_warn("poll");
			return WAIT_ERROR;
		}
	}
}

/*
 * Answers one request through io, then writes its access-log line and
 * counts it. f, the FastCGI exchange (NULL under CGI), is finished first,
 * so that the answer leaves before the bookkeeping.
 */
static void
worker_answer(struct app *app, const char *name, struct http_io *io,
    struct fcgi_io *f)
{
	struct http_response	 resp;
	struct log_access	 a;
	unsigned long		 q0 = db_queries(app->db);
	int64_t			 t0 = clock_mono_us();
	char			 logroute[160];
	size_t			 sent;
	bool			 body_read;

	http_response_init(&resp);
	sent = route_serve(app, name, io, &resp, logroute, sizeof(logroute),
	    &body_read);
	if (f != NULL)
		fcgi_io_finish(f, body_read);
	a.route = logroute;
	a.status = resp.status;
	a.source = resp.source;
	a.queries = (unsigned)(db_queries(app->db) - q0);
	a.micros = clock_mono_us() - t0;
	metrics_request(resp.route, resp.status, resp.source, a.micros);
	log_access(&a);
	log_request(NULL);
	http_response_free(&resp);
	/*
	 * A big answer (a list of 1000 personas) leaves a big heap behind;
	 * give it back, so that an idle worker stays small.
	 */
	if (f != NULL && sent > 64 * 1024)
		malloc_trim(0);
}

/*
 * Plain CGI: the one request of this process, from the environment and
 * stdin, answered on stdout.
 */
static int
worker_cgi(struct app *app, const char *name)
{
	extern char		**environ;
	struct cgi_io		 c;

	cgi_io_init(&c, environ, STDIN_FILENO, STDOUT_FILENO,
	    WORKER_CGI_READ_TIMEOUT_MS);
	worker_answer(app, name, &c.io, NULL);
	app_close(app);
	return 0;
}

/*
 * A FastCGI worker's signals, taken before it opens anything: a stop asked
 * while it starts (multiwatch stopping a set it has just spawned: a
 * restart, a reload) ends it cleanly before its first request instead of
 * killing it half-open. SIGHUP (logrotate's postrotate) and SIGUSR2
 * (which multiwatch passes on to its workers; SIGHUP would stop
 * multiwatch itself) open the log file again, between two requests.
 */
static void
worker_take_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;	/* a read in progress goes on */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = log_on_reopen_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Asked to stop: the connections a front end made before it asked are
 * answered before the worker exits, instead of being reset when it
 * closes its socket (mod_fcgid connects to a process, and its graceful
 * restart stops every process at once: make test saw three answers lost
 * so). At most WORKER_DRAIN_MAX, so that a front end that goes on sending
 * cannot keep a worker from stopping; not on a connection the front end
 * keeps, whose next request may never come.
 */
static void
worker_drain(struct app *app, const char *name, struct fcgi_io *f)
{
	for (int n = 0; n < WORKER_DRAIN_MAX; n++) {
		if (fcgi_io_kept(f) || fcgi_io_accept(f) != 0)
			return;		/* kept, or none waits (EAGAIN) */
		worker_answer(app, name, &f->io, f);
	}
}

/* FastCGI: requests on the listening socket at fd 0, until asked to stop. */
static int
worker_fastcgi(struct app *app, const char *name)
{
	struct fcgi_io		 f;
	int			 rc, flags;
	bool			 busy = false;

	if (!fcgi_io_init(&f, FCGI_LISTENSOCK_FILENO)) {
		log_warnx("FCGX_Init failed");
		app_close(app);
		return 1;
	}
	/*
	 * The listening socket is shared by every worker of the set: it is
	 * polled, then accepted without blocking, so that a worker that lost
	 * the race for a connection goes back to waiting (EAGAIN).
	 */
	if ((flags = fcntl(FCGI_LISTENSOCK_FILENO, F_GETFL)) == -1 ||
	    fcntl(FCGI_LISTENSOCK_FILENO, F_SETFL, flags | O_NONBLOCK) == -1) {
		log_warn("the FastCGI socket (fd 0)");
		app_close(app);
		return 1;
	}
	log_msg(LOG_NOTICE, "started (cache %s, urls %s, sessions %s)",
	    app->cfg->cache_path, app->cfg->cache_urls ? "on" : "off",
	    app->cfg->cache_sessions ? "on" : "off");
	/* Under load, access lines go out a buffer at a time (lib/log.h). */
	log_buffer_access(true);

	while (!worker_stopping) {
		log_reopen();	/* if SIGHUP asked for it, even under load */
		/*
		 * After an answer, with no connection kept open, the next
		 * one is accepted before polling: under load the poll would
		 * only say "ready" (one system call per request fewer); when
		 * there is none, accept says EAGAIN and the poll follows.
		 */
		if (!busy && worker_wait(app, fcgi_io_wait_fd(&f,
		    FCGI_LISTENSOCK_FILENO)) != WAIT_READY)
			break;
		busy = false;
		rc = fcgi_io_accept(&f);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
			continue;	/* another worker took it */
		if (rc < 0)
			break;
		worker_answer(app, name, &f.io, &f);
		busy = !fcgi_io_kept(&f);
	}
	if (worker_stopping)
		worker_drain(app, name, &f);
	log_msg(LOG_NOTICE, "stopping (%s)", worker_stopping ? "asked to" :
	    "accept failed");
	fcgi_io_free(&f);
	app_close(app);
	return 0;
}

int
worker_main(int argc, char **argv, const char *name)
{
	struct config		 cfg;
	struct app		 app;
	bool			 cgi;

	(void)argv;
	if (argc > 1) {
		dprintf(STDERR_FILENO, "usage: %s (a FastCGI program, which "
		    "spawn-fcgi or the web server starts, or a CGI program)\n",
		    name);
		return 2;
	}
	/* A CGI keeps the default actions: its server's SIGTERM ends it. */
	cgi = cgi_io_is_cgi();
	if (!cgi)
		worker_take_signals();
	if (!app_open(&app, &cfg, name, APP_WORKER))
		return 1;
	if (cgi)
		return worker_cgi(&app, name);
	return worker_fastcgi(&app, name);
}
