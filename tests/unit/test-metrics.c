/*
 * Unit tests of lib/metrics.c: counts from several processes add up in
 * the shared file, a dead process's counts stay, its slot is taken back,
 * and the exposition says it all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "metrics.h"
#include "route.h"

static char	 dir[] = "/tmp/fpl-test-metrics.XXXXXX";
static char	 cache[128];

/* The value of the exposition's line that starts with name. */
static long long
value_of(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atoll(p + n + 1);
		p += n;
	}
	return -1;
}

static char *
render(void)
{
	char	*text;
	size_t	 len;

	assert_true(metrics_render(&text, &len, 3, 1));
	assert_int_equal(strlen(text), len);
	return text;
}

static void
test_metrics_shared_by_processes(void **state)
{
	pid_t	 child;
	int	 st;
	char	*text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cache, sizeof(cache), "%s/cache.sqlite", dir);
	assert_true(metrics_open("", cache, "personas", false));
	metrics_request(&route_table[0], 200, "db", 1200);
	metrics_pg_query(DB_PERSONAS_LIST);
	metrics_pg_connect(DB_OK);

	/* A worker that counts and exits, and one killed by -9. */
	for (int i = 0; i < 2; i++) {
		if ((child = fork()) == 0) {
			metrics_close();
			if (!metrics_open("", cache, "idle-video", false))
				_exit(1);
			metrics_request(&route_table[1], 200, "cache",
			    300);
			metrics_cache(true);
			metrics_pg_query(DB_IDLE_VIDEO_GET);
			metrics_pg_connect(DB_OK);
			if (i == 1) {
				alarm(10);	/* never outlives a failed test */
				pause();	/* killed below, its slot held */
			}
			metrics_close();
			_exit(0);
		}
		if (i == 1) {
			usleep(200000);
			text = render();
			assert_int_equal(value_of(text,
			    "fpl_workers{exe=\"idle-video\"}"), 1);
			assert_int_equal(value_of(text, "fpl_pg_connections"), 2);
			free(text);
			kill(child, SIGKILL);
		}
		assert_int_equal(waitpid(child, &st, 0), child);
	}
	text = render();
	assert_int_equal(value_of(text, "fpl_requests_total{route=\"/api/"
	    "personas/{id}/idle-video\",status=\"200\",source=\"cache\"}"), 2);
	assert_int_equal(value_of(text, "fpl_requests_total{route=\"/api/"
	    "personas\",status=\"200\",source=\"db\"}"), 1);
	assert_int_equal(value_of(text, "fpl_pg_queries_total{statement="
	    "\"idle_video_get\",process=\"worker\"}"), 2);
	assert_int_equal(value_of(text, "fpl_cache_hits_total"), 2);
	assert_int_equal(value_of(text, "fpl_pg_connects_total{process="
	    "\"worker\"}"), 3);
	/* The dead ones hold nothing now; we still do. */
	assert_int_equal(value_of(text, "fpl_pg_connections"), 1);
	assert_int_equal(value_of(text, "fpl_workers{exe=\"idle-video\"}"), 0);
	assert_int_equal(value_of(text, "fpl_workers{exe=\"personas\"}"), 1);
	assert_int_equal(value_of(text, "fpl_outbox_pending"), 3);
	assert_int_equal(value_of(text, "fpl_request_duration_seconds_bucket"
	    "{route=\"/api/personas\",le=\"0.001\"}"), 0);
	assert_int_equal(value_of(text, "fpl_request_duration_seconds_bucket"
	    "{route=\"/api/personas\",le=\"0.0025\"}"), 1);
	free(text);
	metrics_close();
	assert_false(metrics_render(&text, &(size_t){ 0 }, -1, -1));
}

static void
test_metrics_refuses_a_foreign_file(void **state)
{
	char	 path[160];
	FILE	*f;

	(void)state;
	snprintf(path, sizeof(path), "%s/other.shm", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("not ours", f);
	fclose(f);
	assert_false(metrics_open(path, cache, "personas", false));
	/* Counting without a file is a no-op, not a crash. */
	metrics_request(NULL, 404, "-", 10);

	/* Ours, of an older layout: replaced, and counted in again. */
	assert_non_null(f = fopen(path, "w"));
	fwrite(&(uint32_t[]){ 0x4d4c5046u, 64 }, sizeof(uint32_t), 2, f);
	fwrite(&(char[56]){ 0 }, 1, 56, f);
	fclose(f);
	assert_true(metrics_open(path, cache, "personas", false));
	metrics_request(NULL, 404, "-", 10);
	{
		char	*text;
		size_t	 len;

		assert_true(metrics_render(&text, &len, -1, -1));
		assert_int_equal(value_of(text, "fpl_requests_total{route="
		    "\"other\",status=\"404\",source=\"-\"}"), 1);
		free(text);
	}
	metrics_close();
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_shared_by_processes),
		cmocka_unit_test(test_metrics_refuses_a_foreign_file),
	};

	log_init("test-metrics", LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
