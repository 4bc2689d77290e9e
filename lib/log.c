/*
 * log.c: single-line, single-write logging to standard error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static const char	*log_prog = "fcgi-pool-lab";
static enum log_level	 log_min = LOG_INFO;
static long		 log_pid;	/* of the process that called log_init */
static const char	*log_request_id;	/* of the request in hand, or NULL */
static const char	*log_path;	/* LOG_PATH, or NULL: fd 2 as given */
static volatile sig_atomic_t log_reopen_asked;

/*
 * A busy FastCGI worker's access lines (log_buffer_access), whole, until
 * log_flush writes them together; log_buf_since is when the first came
 * (clock_mono_us).
 */
static bool		 log_buffering;
static char		 log_buf[LOG_BUFFER_SIZE];
static size_t		 log_buflen;
static int64_t		 log_buf_since;

static const char *const log_names[LOG__MAX] = {
	"debug",	/* LOG_DEBUG */
	"info",		/* LOG_INFO */
	"warn",		/* LOG_WARN */
	"error",	/* LOG_ERROR */
	"notice",	/* LOG_NOTICE */
};

void
log_request(const char *id)
{
	log_request_id = id;
}

/* "prog[pid] ", the head of every line after the time, made by log_init. */
static char	 log_prefix[96];
static size_t	 log_prefixlen;

/* Formats "prog[pid] " into buf; returns its length. */
static size_t
log_format_prefix(char *buf, size_t bufsz)
{
	int	 rc = snprintf(buf, bufsz, "%s[%ld] ", log_prog,
	    log_pid != 0 ? log_pid : (long)getpid());

	if (rc < 0)
		return 0;
	return (size_t)rc < bufsz ? (size_t)rc : bufsz - 1;
}

void
log_init(const char *prog, enum log_level min)
{
	log_prog = prog;
	log_min = min;
	log_pid = (long)getpid();
	log_prefixlen = log_format_prefix(log_prefix, sizeof(log_prefix));
}

/* Opens log_path onto fd 2; false (errno set) leaves fd 2 as it was. */
static bool
log_open_path(void)
{
	int	 fd, saved;

	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return false;
	if (fd != STDERR_FILENO && dup2(fd, STDERR_FILENO) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	if (fd != STDERR_FILENO)
		close(fd);
	return true;
}

bool
log_open_file(const char *path)
{
	if (path == NULL || *path == '\0')
		return true;
	log_path = path;
	return log_open_path();
}

void
log_on_reopen_signal(int sig)
{
	(void)sig;
	log_reopen_asked = 1;
}

void
log_reopen(void)
{
	if (!log_reopen_asked)
		return;
	log_reopen_asked = 0;
	if (log_path == NULL)
		return;
	/* The last line of the old file, then the first of the new one. */
	log_msg(LOG_NOTICE, "log: reopening %s", log_path);
	if (!log_open_path())
		log_warn("log: cannot reopen %s, writing on to the old file",
		    log_path);
	else
		log_msg(LOG_NOTICE, "log: reopened %s", log_path);
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i < LOG_NOTICE; i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Starts a line in buf (at least 256 bytes): the time, formatted once a
 * second, not once a line (UTC), then "prog[pid] level: ". Returns its
 * length.
 */
static size_t
log_head(char *buf, size_t bufsz, enum log_level lvl)
{
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 n, len;

	static time_t	 stamp_at = -1;
	static char	 stamp[32];
	static size_t	 stamplen;

	if (now != stamp_at) {
		gmtime_r(&now, &tm);
		stamplen = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ ",
		    &tm);
		stamp_at = now;
	}
	memcpy(buf, stamp, stamplen);
	n = stamplen;
	if (log_pid != 0) {
		memcpy(buf + n, log_prefix, log_prefixlen);
		n += log_prefixlen;
	} else		/* before log_init: nothing kept */
		n += log_format_prefix(buf + n, bufsz - n);
	len = strlen(log_names[lvl]);
	memcpy(buf + n, log_names[lvl], len);
	n += len;
	memcpy(buf + n, ": ", 2);
	return n + 2;
}

/*
 * Ends the line in buf (n bytes, the message from start on): control
 * characters (which may come from a client) replaced so that one event
 * stays one line, the request id when a request is in hand, and the
 * newline. Returns the line's length.
 */
static size_t
log_end(char *buf, size_t bufsz, size_t start, size_t n)
{
	for (size_t i = start; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	if (log_request_id != NULL && n + 5 < bufsz - 1) {
		/* A request id is [A-Za-z0-9._-]: nothing to replace. */
		size_t len = strlen(log_request_id);

		if (len > bufsz - 1 - n - 5)
			len = bufsz - 1 - n - 5;
		memcpy(buf + n, " req=", 5);
		memcpy(buf + n + 5, log_request_id, len);
		n += 5 + len;
	}
	if (n > bufsz - 2)
		n = bufsz - 2;
	buf[n++] = '\n';
	return n;
}

/* Writes whole lines with one write(2) (more only if the disk is full). */
static void
log_out(const char *buf, size_t n)
{
	ssize_t	 w;

	/* Best effort: nowhere else to report a failed log write. */
	while (n > 0) {
		if ((w = write(STDERR_FILENO, buf, n)) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

void
log_flush(void)
{
	int	 saved = errno;

	if (log_buflen > 0) {
		log_out(log_buf, log_buflen);
		log_buflen = 0;
	}
	errno = saved;
}

int
log_flush_due(void)
{
	int64_t	 left;

	if (log_buflen == 0)
		return -1;
	left = log_buf_since + LOG_BUFFER_WAIT_US - clock_mono_us();
	if (left > 0)
		return (int)((left + 999) / 1000);
	log_flush();
	return -1;
}

void
log_buffer_access(bool on)
{
	static bool	 registered;

	if (!on)
		log_flush();
	else if (!registered)
		registered = atexit(log_flush) == 0;
	log_buffering = on;
}

/*
 * Formats the head, the message and an optional error text into one
 * buffer and writes it at once.
 */
static void
log_write(enum log_level lvl, const char *err, const char *fmt, va_list ap)
{
	char		 buf[1024];
	size_t		 n, start;
	int		 rc;

	n = start = log_head(buf, sizeof(buf), lvl);
	rc = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (rc > 0)
		n += (size_t)rc < sizeof(buf) - n ? (size_t)rc : sizeof(buf) - n - 1;
	if (err != NULL && n < sizeof(buf) - 1) {
		rc = snprintf(buf + n, sizeof(buf) - n, ": %s", err);
		if (rc > 0)
			n += (size_t)rc < sizeof(buf) - n ?
			    (size_t)rc : sizeof(buf) - n - 1;
	}
	n = log_end(buf, sizeof(buf), start, n);
	/* The access lines before it first: a worker's lines stay in order. */
	log_flush();
	log_out(buf, n);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list	 ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	log_write(lvl, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	if (LOG_WARN < log_min)
		return;
	va_start(ap, fmt);
	log_write(LOG_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	if (LOG_WARN < log_min)
		return;
	va_start(ap, fmt);
	log_write(LOG_WARN, NULL, fmt, ap);
	va_end(ap);
}

/* Appends s to buf at *n, as far as it fits before end. */
static void
log_put(char *buf, size_t *n, size_t end, const char *s)
{
	size_t	 len = strlen(s);

	if (len > end - *n)
		len = end - *n;
	memcpy(buf + *n, s, len);
	*n += len;
}

/* Appends v in decimal (a minus sign when negative). */
static void
log_put_int(char *buf, size_t *n, size_t end, long long v)
{
	char			 d[24], *p = d + sizeof(d);
	unsigned long long	 u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	log_put(buf, n, end, p);
}

/*
 * The access line, once per request: written field by field, not through
 * printf (about 4k instructions of a cached answer's, issue 12).
 */
void
log_access(const struct log_access *a)
{
	char	 buf[1024];
	size_t	 n, start, end = sizeof(buf) - 1;
	int64_t	 now;

	_Static_assert(sizeof(buf) <= LOG_BUFFER_SIZE, "a line fits the buffer");
	if (LOG_INFO < log_min)
		return;
	n = start = log_head(buf, sizeof(buf), LOG_INFO);
	log_put(buf, &n, end, "access route=\"");
	log_put(buf, &n, end, a->route);
	/* The route's method is the client's: the only bytes to replace. */
	for (size_t i = start; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	log_put(buf, &n, end, "\" status=");
	log_put_int(buf, &n, end, a->status);
	log_put(buf, &n, end, " source=");
	log_put(buf, &n, end, a->source != NULL ? a->source : "-");
	log_put(buf, &n, end, " pg_queries=");
	log_put_int(buf, &n, end, a->queries);
	log_put(buf, &n, end, " us=");
	log_put_int(buf, &n, end, a->micros);
	n = log_end(buf, sizeof(buf), n, n);
	if (!log_buffering) {
		log_out(buf, n);
		return;
	}
	if (log_buflen + n > sizeof(log_buf))
		log_flush();
	now = clock_mono_us();
	if (log_buflen == 0)
		log_buf_since = now;
	memcpy(log_buf + log_buflen, buf, n);	/* n < sizeof(buf) <= it */
	log_buflen += n;
	if (now - log_buf_since >= LOG_BUFFER_WAIT_US)
		log_flush();
}
