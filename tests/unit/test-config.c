/* Unit tests of lib/config.c: defaults, overrides, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static int
clear_env(void **state)
{
	(void)state;
	unsetenv("PG_IDLE_TIMEOUT_S");
	unsetenv("CACHE_URLS");
	unsetenv("DATABASE_URL");
	unsetenv("FPL_CONFIG");
	unsetenv("PGPASSFILE");
	unsetenv("SESSION_TTL_S");
	unsetenv("MEDIA_DIR");
	unsetenv("PG_PREPARE");
	return 0;
}

static void
test_config_defaults(void **state)
{
	struct config c;
	char err[128];

	(void)state;
	assert_true(config_load(&c, err, sizeof(err)));
	assert_int_equal(c.pg_idle_timeout_s, 20);
	assert_true(c.cache_urls);
	assert_true(c.cache_sessions);
	assert_non_null(c.database_url);
	assert_int_equal(c.pg_prepare, 0);	/* auto */
}

/* PG_PREPARE takes auto, on or off, as their index, and nothing else. */
static void
test_config_choice(void **state)
{
	static const struct {
		const char	*value;
		int		 want;	/* -1: refused */
		int		 line;
	} cases[] = {
		{ "auto", 0, __LINE__ },
		{ "on", 1, __LINE__ },
		{ "off", 2, __LINE__ },
		{ "", 0, __LINE__ },		/* empty: the default */
		{ "ON", -1, __LINE__ },
		{ "1", -1, __LINE__ },
		{ "autox", -1, __LINE__ },
		{ "of", -1, __LINE__ },
	};
	struct config c;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok;

		setenv("PG_PREPARE", cases[i].value, 1);
		ok = config_load(&c, err, sizeof(err));
		if (ok != (cases[i].want >= 0))
			fail_msg("line %d: PG_PREPARE=%s %s", cases[i].line,
			    cases[i].value, ok ? "accepted" : "refused");
		if (ok && c.pg_prepare != cases[i].want)
			fail_msg("line %d: PG_PREPARE=%s is %d", cases[i].line,
			    cases[i].value, c.pg_prepare);
		if (!ok && strstr(err, "PG_PREPARE: not auto, on or off: ") !=
		    err)
			fail_msg("line %d: message %s", cases[i].line, err);
	}
	unsetenv("PG_PREPARE");
}

static void
test_config_overrides(void **state)
{
	struct config c;
	char err[128];

	(void)state;
	setenv("PG_IDLE_TIMEOUT_S", "3", 1);
	setenv("CACHE_URLS", "false", 1);
	setenv("DATABASE_URL", "host=/tmp dbname=x", 1);
	assert_true(config_load(&c, err, sizeof(err)));
	assert_int_equal(c.pg_idle_timeout_s, 3);
	assert_false(c.cache_urls);
	assert_string_equal(c.database_url, "host=/tmp dbname=x");
}

static void
test_config_refuses(void **state)
{
	struct config c;
	char err[128];

	(void)state;
	setenv("PG_IDLE_TIMEOUT_S", "0", 1);	/* below its minimum */
	assert_false(config_load(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "PG_IDLE_TIMEOUT_S"));
	setenv("PG_IDLE_TIMEOUT_S", "20s", 1);
	assert_false(config_load(&c, err, sizeof(err)));
	setenv("PG_IDLE_TIMEOUT_S", "20", 1);
	setenv("CACHE_URLS", "yes", 1);
	assert_false(config_load(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "CACHE_URLS"));
}

/* Writes text to a new file; returns its path (static). */
static const char *
write_file(const char *text)
{
	static char	 path[64];
	int		 fd;

	snprintf(path, sizeof(path), "/tmp/fpl-test-config.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_config_file(void **state)
{
	struct config	 c;
	char		 err[256];
	const char	*path;

	(void)state;
	path = write_file("# the settings of a shared host\r\n"
	    "\n"
	    "  DATABASE_URL = host=/tmp dbname=fromfile \r\n"
	    "PG_IDLE_TIMEOUT_S=7\n"
	    "MEDIA_DIR=\"/srv/media dir\"\n"
	    "PGPASSFILE='/home/a/.pgpass'\n"
	    "SESSION_TTL_S=9");		/* no newline at the end */
	setenv("FPL_CONFIG", path, 1);
	setenv("SESSION_TTL_S", "30", 1);	/* the environment wins */
	assert_true(config_load(&c, err, sizeof(err)));
	assert_string_equal(c.settings_file, path);
	assert_string_equal(c.database_url, "host=/tmp dbname=fromfile");
	assert_int_equal(c.pg_idle_timeout_s, 7);
	assert_string_equal(c.media_dir, "/srv/media dir");
	assert_string_equal(getenv("PGPASSFILE"), "/home/a/.pgpass");
	assert_int_equal(c.session_ttl_s, 30);
	unlink(path);
}

static void
test_config_file_refusals(void **state)
{
	static const struct {
		const char	*text, *want;
	} bad[] = {
		{ "CACHE_URLS=1\nNO_SUCH_SETTING=1\n", ":2: unknown setting NO_SUCH_SETTING" },
		{ "# fine\njust words\n", ":2: not KEY=value" },
		{ "=value\n", ":1: unknown setting" },
		{ "PG_IDLE_TIMEOUT_S=0\n", "PG_IDLE_TIMEOUT_S: not an integer" },
		{ "PGpass=x\n", ":1: unknown setting" },
	};
	struct config	 c;
	char		 err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = write_file(bad[i].text);

		clear_env(NULL);
		setenv("FPL_CONFIG", path, 1);
		assert_false(config_load(&c, err, sizeof(err)));
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("\"%s\": \"%s\" says nothing of \"%s\"",
			    bad[i].text, err, bad[i].want);
		unlink(path);
	}
	/* A file that FPL_CONFIG names must be there. */
	setenv("FPL_CONFIG", "/nonexistent/fcgi-pool-lab.conf", 1);
	assert_false(config_load(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/fcgi-pool-lab.conf"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_defaults, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_config_overrides, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_config_refuses, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_config_choice, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_config_file, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_config_file_refusals, clear_env, clear_env),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
