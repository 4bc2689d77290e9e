/* Unit tests of lib/config.c: defaults, overrides, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static int
clear_env(void **state)
{
	(void)state;
	unsetenv("PG_IDLE_TIMEOUT_S");
	unsetenv("CACHE_URLS");
	unsetenv("DATABASE_URL");
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_defaults, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_config_overrides, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_config_refuses, clear_env, clear_env),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
