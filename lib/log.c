/*
 * log.c: single-line, single-write logging to standard error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_prog = "fcgi-pool-lab";
static enum log_level	 log_min = LOG_INFO;
static long		 log_pid;	/* of the process that called log_init */
static const char	*log_request_id;	/* of the request in hand, or NULL */
static const char	*log_path;	/* LOG_PATH, or NULL: fd 2 as given */
static volatile sig_atomic_t log_reopen_asked;

static const char *const log_names[LOG__MAX] = {
	"debug",	/* LOG_DEBUG */
	"info",		/* LOG_INFO */
	"warn",		/* LOG_WARN */
	"error",	/* LOG_ERROR */
};

void
log_request(const char *id)
{
	log_request_id = id;
}

void
log_init(const char *prog, enum log_level min)
{
	log_prog = prog;
	log_min = min;
	log_pid = (long)getpid();
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
	log_msg(LOG_INFO, "log: reopening %s", log_path);
	if (!log_open_path())
		log_warn("log: cannot reopen %s, writing on to the old file",
		    log_path);
	else
		log_msg(LOG_INFO, "log: reopened %s", log_path);
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i < LOG__MAX; i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Formats the prefix, the message and an optional error text into one
 * buffer and writes it at once. Control characters (which may come from a
 * client) are replaced so that one event stays one line. Timestamps are UTC.
 */
static void
log_write(enum log_level lvl, const char *err, const char *fmt, va_list ap)
{
	char		 buf[1024];
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 n, start;
	int		 rc;

	/* The timestamp is formatted once a second, not once a line. */
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
	rc = snprintf(buf + n, sizeof(buf) - n, "%s[%ld] %s: ",
	    log_prog, log_pid != 0 ? log_pid : (long)getpid(), log_names[lvl]);
	if (rc > 0)
		n += (size_t)rc < sizeof(buf) - n ? (size_t)rc : sizeof(buf) - n - 1;
	start = n;
	rc = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (rc > 0)
		n += (size_t)rc < sizeof(buf) - n ? (size_t)rc : sizeof(buf) - n - 1;
	if (err != NULL && n < sizeof(buf) - 1) {
		rc = snprintf(buf + n, sizeof(buf) - n, ": %s", err);
		if (rc > 0)
			n += (size_t)rc < sizeof(buf) - n ?
			    (size_t)rc : sizeof(buf) - n - 1;
	}
	if (log_request_id != NULL && n < sizeof(buf) - 1) {
		/* A request id is [A-Za-z0-9._-]: nothing to replace. */
		rc = snprintf(buf + n, sizeof(buf) - n, " req=%s",
		    log_request_id);
		if (rc > 0)
			n += (size_t)rc < sizeof(buf) - n ?
			    (size_t)rc : sizeof(buf) - n - 1;
	}
	for (size_t i = start; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* Best effort: nowhere else to report a failed log write. */
	while (write(STDERR_FILENO, buf, n) < 0 && errno == EINTR)
		continue;
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

static void
log_access_write(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_write(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_access(const struct log_access *a)
{
	if (LOG_INFO < log_min)
		return;
	log_access_write("access route=\"%s\" status=%d source=%s "
	    "pg_queries=%u us=%lld", a->route, a->status,
	    a->source != NULL ? a->source : "-", a->queries,
	    (long long)a->micros);
}
