/* Unit tests of lib/log.c: one line per event, one write, no control bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* Runs fn with fd 2 on a pipe and returns what it wrote. */
static size_t
capture(void (*fn)(void), char *out, size_t outsz)
{
	int p[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], out, outsz - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void
emit_hostile(void)
{
	log_warnx("client said: %s", "evil\nFAKE LINE\r\x1b[31m");
}

static void
emit_access(void)
{
	struct log_access a = { "GET /api/personas", 200, "db", 1, 1234 };

	log_access(&a);
}

static void
emit_access_odd(void)
{
	struct log_access a = { "G\nET\x7f /api/x", 503, NULL, 4294967295u,
	    -9223372036854775807LL - 1 };

	log_access(&a);
}

static void
emit_access_long(void)
{
	static char route[3000];
	struct log_access a = { route, 200, "cache", 4294967295u,
	    9223372036854775807LL };

	memset(route, 'r', sizeof(route) - 1);
	log_access(&a);
}

static void
emit_debug(void)
{
	log_msg(LOG_DEBUG, "not shown at info");
}

static void
test_log_one_line(void **state)
{
	char buf[2048];

	(void)state;
	log_init("test-log", LOG_INFO);
	capture(emit_hostile, buf, sizeof(buf));
	assert_non_null(strstr(buf, "test-log["));
	assert_non_null(strstr(buf, "warn: client said: evil?FAKE LINE??[31m"));
	assert_int_equal(strchr(buf, '\n') - buf, (long)strlen(buf) - 1);
}

static void
emit_levels(void)
{
	log_msg(LOG_WARN, "a warning");
	log_msg(LOG_NOTICE, "started");
}

/* At LOG_LEVEL=error a warning is not written; a process's life is. */
static void
test_log_notice_at_any_level(void **state)
{
	char buf[2048];

	(void)state;
	assert_int_equal(log_level_parse("notice"), -1);
	log_init("test-log", LOG_ERROR);
	capture(emit_levels, buf, sizeof(buf));
	assert_null(strstr(buf, "a warning"));
	assert_non_null(strstr(buf, "notice: started"));
	log_init("test-log", LOG_INFO);
}

static void
test_log_access_fields(void **state)
{
	char buf[2048];

	(void)state;
	log_init("idle-video", LOG_INFO);
	capture(emit_access, buf, sizeof(buf));
	assert_non_null(strstr(buf, "access route=\"GET /api/personas\" status=200 "
	    "source=db pg_queries=1 us=1234\n"));
	/* A request in hand: its id ends every line. */
	log_request("rid-9");
	capture(emit_access, buf, sizeof(buf));
	log_request(NULL);
	assert_non_null(strstr(buf, "us=1234 req=rid-9\n"));
	capture(emit_access, buf, sizeof(buf));
	assert_null(strstr(buf, "req="));
	/* The client's bytes replaced; no source is "-". */
	capture(emit_access_odd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "info: access route=\"G?ET? /api/x\" "
	    "status=503 source=- pg_queries=4294967295 "
	    "us=-9223372036854775808\n"));
	/* Too long for a line: cut, still one line. */
	assert_true(capture(emit_access_long, buf, sizeof(buf)) <= 1024);
	assert_int_equal(strchr(buf, '\n') - buf, (long)strlen(buf) - 1);
	assert_non_null(strstr(buf, "idle-video["));
	assert_int_equal(capture(emit_debug, buf, sizeof(buf)), 0);
	assert_int_equal(log_level_parse("warn"), LOG_WARN);
	assert_int_equal(log_level_parse("loud"), -1);
}

/* The whole of file path, in buf. */
static void
slurp(const char *path, char *buf, size_t bufsz)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, bufsz - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/*
 * LOG_PATH: lines go to the file; after logrotate's rename, SIGHUP makes
 * the next log_reopen open the path anew, and later lines land there.
 */
static void
test_log_file_reopen(void **state)
{
	char dir[] = "/tmp/test-log.XXXXXX", path[128], rotated[128];
	char buf[4096];
	int saved = dup(STDERR_FILENO);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/w.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/w.log.1", dir);
	log_init("test-log", LOG_INFO);
	assert_true(log_open_file(path));
	log_warnx("before the rotation");
	assert_int_equal(rename(path, rotated), 0);
	log_warnx("after the rename, before the signal");
	log_reopen();		/* not asked: nothing happens */
	assert_int_equal(access(path, F_OK), -1);
	signal(SIGHUP, log_on_reopen_signal);
	raise(SIGHUP);
	log_reopen();
	log_warnx("after the reopen");
	dup2(saved, STDERR_FILENO);
	close(saved);
	signal(SIGHUP, SIG_DFL);

	slurp(rotated, buf, sizeof(buf));
	assert_non_null(strstr(buf, "before the rotation"));
	assert_non_null(strstr(buf, "after the rename, before the signal"));
	assert_non_null(strstr(buf, "log: reopening"));
	assert_null(strstr(buf, "after the reopen"));
	slurp(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "log: reopened"));
	assert_non_null(strstr(buf, "after the reopen"));
	assert_null(strstr(buf, "before the rotation"));
	/* A path that cannot be opened leaves fd 2 as it was. */
	assert_false(log_open_file("/nonexistent-dir/x.log"));
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

/* What fd has to read now, without waiting, in buf; returns its length. */
static size_t
drain(int fd, char *buf, size_t bufsz)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < bufsz - 1 && poll(&pfd, 1, 0) == 1 &&
	    (n = read(fd, buf + got, bufsz - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

/* Drains fd and counts its lines, checking that each is a whole access line. */
static int
access_lines(int fd)
{
	static char buf[3 * LOG_BUFFER_SIZE];
	const char *s = buf, *nl;
	int n = 0;

	drain(fd, buf, sizeof(buf));
	for (; (nl = strchr(s, '\n')) != NULL; s = nl + 1, n++) {
		assert_memory_equal(nl - 8, " us=1234\n", 9);
		assert_non_null(memmem(s, (size_t)(nl - s), "info: access route=", 19));
	}
	assert_int_equal(*s, '\0');	/* no line cut */
	return n;
}

/*
 * A busy worker's access lines wait, whole, and go out when the buffer
 * is full, before any other line, when they are due, and when buffering
 * ends; lines that wait say when they are due (log_flush_due).
 */
static void
test_log_access_buffered(void **state)
{
	char buf[4096];
	const char *first, *second, *warn;
	int p[2], saved = dup(STDERR_FILENO), lines, due;

	(void)state;
	log_init("idle-video", LOG_INFO);
	assert_int_equal(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	log_buffer_access(true);
	assert_int_equal(log_flush_due(), -1);	/* none waits */

	/* Two lines wait; a warning writes them first. */
	emit_access();
	emit_access();
	assert_int_equal(drain(p[0], buf, sizeof(buf)), 0);
	due = log_flush_due();
	assert_true(due > 0 && due <= LOG_BUFFER_WAIT_US / 1000);
	log_warnx("after two");
	drain(p[0], buf, sizeof(buf));
	first = strstr(buf, "info: access route=");
	second = first != NULL ? strstr(first + 1, "info: access route=") : NULL;
	warn = strstr(buf, "warn: after two\n");
	assert_true(first != NULL && second != NULL && warn != NULL &&
	    first < second && second < warn);
	assert_int_equal(log_flush_due(), -1);

	/* More than a buffer: whole lines go out without a flush. */
	for (int i = 0; i < 60; i++)
		emit_access();
	lines = access_lines(p[0]);
	assert_true(lines > 0 && lines < 60);
	log_flush();
	assert_int_equal(access_lines(p[0]), 60 - lines);

	/* Due: written by log_flush_due once LOG_BUFFER_WAIT_US has passed. */
	emit_access();
	assert_int_equal(access_lines(p[0]), 0);
	usleep(LOG_BUFFER_WAIT_US + 10000);
	assert_int_equal(log_flush_due(), -1);
	assert_int_equal(access_lines(p[0]), 1);

	/* Off: what waits is written, and later lines at once. */
	emit_access();
	log_buffer_access(false);
	assert_int_equal(access_lines(p[0]), 1);
	emit_access();
	assert_int_equal(access_lines(p[0]), 1);

	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_one_line),
		cmocka_unit_test(test_log_notice_at_any_level),
		cmocka_unit_test(test_log_access_fields),
		cmocka_unit_test(test_log_file_reopen),
		cmocka_unit_test(test_log_access_buffered),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
