/*
 * log.h: one line per event on standard error.
 *
 * Under spawn-fcgi -n the worker's fd 2 is the worker log file, so writing
 * to it directly (never through libfcgi's streams) keeps messages that
 * happen outside a request. Every line is written whole with one write(2),
 * so the lines of several workers appending to one file never interleave
 * (a busy worker's access lines several at a time: log_buffer_access). With
 * LOG_PATH set, the process opens that file onto fd 2 itself, and opens it
 * again on SIGHUP or SIGUSR2, so that logrotate can rename it.
 *
 * Lines look like:
 *   2026-11-26T15:04:05Z idle-video[1234] warn: db: connect: <reason> req=<id>
 * (the request id when a request is in hand).
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
	/*
	 * A process's life (started, stopping, its log reopened): written
	 * whatever LOG_LEVEL says, since scripts/stack waits for "started"
	 * and an operator needs to see a restart. The highest level, and not
	 * one LOG_LEVEL may name (log_level_parse), so never below the least
	 * level written.
	 */
	LOG_NOTICE,
	LOG__MAX
};

/* Sets the program name of every line (not copied: keep it alive). */
void	log_init(const char *prog, enum log_level min);

/*
 * Names the request in hand (NULL: none): every line written meanwhile
 * ends with " req=<id>". id is not copied: keep it alive until cleared.
 */
void	log_request(const char *id);

/*
 * Sends every later line (and whatever else this process writes to fd 2)
 * to the file at path, opened for appending (made 0640 if missing), in
 * place of the standard error it was given; NULL or "": keep that.
 * Returns false, with errno set and fd 2 as it was, when path cannot be
 * opened. The path is kept (not copied) for log_reopen.
 */
bool	log_open_file(const char *path);

/*
 * A signal handler (SIGHUP, SIGUSR2) that asks for the log file to be
 * opened again, after logrotate renamed it; log_reopen, called between
 * two requests, does it. Async-signal-safe.
 */
void	log_on_reopen_signal(int sig);
/* Opens the log file again if a signal asked for it; says so in both. */
void	log_reopen(void);

/* The level named by s ("debug", "info", "warn", "error"), or -1. */
int	log_level_parse(const char *s);

/* A line at the given level; the warn form appends strerror(errno). */
void	log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One access-log record: what a request did, for the laboratory too. */
struct log_access {
	const char	*route;		/* e.g. "GET /api/personas" */
	int		 status;	/* HTTP status answered */
	const char	*source;	/* cache, job, quick-check, db, or "-" */
	unsigned	 queries;	/* PostgreSQL queries this request made */
	int64_t		 micros;	/* time from accept to finish */
};

void	log_access(const struct log_access *);

/*
 * With on, access lines wait in a buffer of LOG_BUFFER_SIZE bytes and are
 * written together, with one write(2) (issue 12: one per line cost a
 * cached answer about 3 us of its worker's 22): when the next would not
 * fit, when the first has waited LOG_BUFFER_WAIT_US (checked at the next
 * line and by log_flush_due), before any other line (so that a process's
 * lines stay in order), by log_flush and at exit. A FastCGI worker turns
 * it on and, when it waits for a request, waits at most until its lines
 * are due: under load they go out a buffer at a time, idle
 * LOG_BUFFER_WAIT_US after the first. A process killed outright (SIGKILL,
 * a crash) loses what the buffer held. Off (the default, and a CGI's)
 * writes each line at once.
 */
#define LOG_BUFFER_SIZE		4096
#define LOG_BUFFER_WAIT_US	50000
void	log_buffer_access(bool on);
/* Writes the access lines waiting in the buffer; keeps errno. */
void	log_flush(void);
/*
 * Writes the waiting access lines if they are due; returns the
 * milliseconds until they will be, or -1 when none waits (a timeout for
 * poll(2)).
 */
int	log_flush_due(void);

#endif /* LOG_H */
