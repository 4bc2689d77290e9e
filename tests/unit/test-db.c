/*
 * Unit tests of lib/db.c that need no server: every wait is bounded and a
 * failure is sorted by its cause. (The real-server behaviour is tested by
 * tests/integration against the stack's PostgreSQL.)
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "db.h"
#include "log.h"

static const unsigned char hash[32];

/* A TCP listener that accepts in the kernel and never says a word. */
static int
silent_listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_db_refused_is_unavailable(void **state)
{
	struct db *db;
	PGresult *res;
	const char *const v[] = { (const char *)hash, NULL };
	const int l[] = { 32, 0 };
	int port, fd = silent_listener(&port);
	char conninfo[128];
	int64_t t0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);	/* now nothing listens there */
	snprintf(conninfo, sizeof(conninfo),
	    "host=127.0.0.1 port=%d dbname=app user=app", port);
	db = db_new(conninfo, "test-db", 1000, 1000, DB_PREPARE_AUTO);
	t0 = clock_mono_us();
	assert_int_equal(db_exec(db, DB_IDLE_VIDEO_GET, v, l, &res),
	    DB_UNAVAILABLE);
	assert_null(res);
	assert_true(clock_mono_us() - t0 < 1000000);
	assert_false(db_connected(db));
	assert_int_equal(db_queries(db), 0);
	db_free(db);
}

static void
test_db_connect_timeout_is_bounded(void **state)
{
	struct db *db;
	PGresult *res;
	const char *const v[] = { (const char *)hash, NULL };
	const int l[] = { 32, 0 };
	int port, fd = silent_listener(&port);
	char conninfo[128];
	int64_t t0, took;

	(void)state;
	assert_true(fd >= 0);
	snprintf(conninfo, sizeof(conninfo),
	    "postgresql://app@127.0.0.1:%d/app", port);
	db = db_new(conninfo, "test-db", 300, 1000, DB_PREPARE_ON);
	t0 = clock_mono_us();
	assert_int_equal(db_exec(db, DB_IDLE_VIDEO_GET, v, l, &res), DB_TIMEOUT);
	took = clock_mono_us() - t0;
	assert_true(took >= 290000);
	assert_true(took < 1000000);
	assert_false(db_connected(db));
	db_free(db);
	close(fd);
}

static void
test_db_reasons(void **state)
{
	(void)state;
	assert_string_equal(db_status_reason(DB_TOO_MANY_CLIENTS),
	    "too_many_clients");
	assert_string_equal(db_status_reason(DB_POOL_TIMEOUT), "pool_timeout");
	assert_string_equal(db_status_reason(DB_TIMEOUT), "timeout");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_refused_is_unavailable),
		cmocka_unit_test(test_db_connect_timeout_is_bounded),
		cmocka_unit_test(test_db_reasons),
	};
	log_init("test-db", LOG_ERROR);
	return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
