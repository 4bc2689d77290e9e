/*
 * Unit tests of lib/provider.c against a tiny HTTP server forked on
 * loopback: the predictions API (create, get, cancel) and bounded waits.
 * Copies of the output videos are tested in test-download.c.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clock.h"
#include "fixture.h"
#include "log.h"
#include "provider.h"

#define TOKEN	"sekret-token"

static pid_t	server_pid;
static int	server_port;

#define JSON	"Content-Type: application/json\r\n"

static void
reply(int fd, const char *status, const char *body)
{
	httpd_reply(fd, status, JSON, body, strlen(body));
}

/* Answers by the request line. */
static void
answer(int fd, const char *req)
{
	bool authed = strstr(req, "Authorization: Bearer " TOKEN "\r\n") != NULL;

	if (strncmp(req, "POST /v1/predictions ", 21) == 0) {
		if (authed)
			reply(fd, "201 Created", "{\"id\":\"p1\","
			    "\"status\":\"starting\",\"output\":null}");
		else
			reply(fd, "401 Unauthorized", "{}");
	} else if (strncmp(req, "GET /v1/predictions/p1 ", 23) == 0)
		reply(fd, "200 OK", "{\"id\":\"p1\",\"status\":\"succeeded\","
		    "\"output\":[\"http://x/files/ok.mp4\"]}");
	else if (strncmp(req, "GET /v1/predictions/broken ", 27) == 0)
		reply(fd, "200 OK", "{\"nope\":");
	else if (strncmp(req, "GET /v1/predictions/down ", 25) == 0)
		reply(fd, "503 Service Unavailable", "{}");
	else if (strncmp(req, "GET /v1/predictions/slow ", 25) == 0)
		sleep(3);
	else if (strncmp(req, "POST /v1/predictions/p1/cancel ", 31) == 0) {
		if (authed)
			reply(fd, "200 OK", "{\"id\":\"p1\",\"status\":"
			    "\"canceled\",\"output\":null}");
		else
			reply(fd, "401 Unauthorized", "{}");
	} else
		reply(fd, "404 Not Found", "{}");
}

static int
setup(void **state)
{
	(void)state;
	server_pid = httpd_start(answer, &server_port);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_init("test-provider", LOG_ERROR);
	return server_pid > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	httpd_stop(server_pid);
	curl_global_cleanup();
	return 0;
}

static struct provider *
client(const char *token, int timeout_ms)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", server_port);
	return provider_new(url, token, 500, timeout_ms);
}

static void
test_provider_api(void **state)
{
	struct provider *p = client(TOKEN, 2000), *wrong = client("wrong", 2000);
	struct prediction pred;

	(void)state;
	assert_int_equal(provider_create(p, "persona", "http://w/hook", &pred), PROVIDER_OK);
	assert_string_equal(pred.id, "p1");
	assert_int_equal(pred.status, PREDICTION_STARTING);
	assert_int_equal(provider_create(wrong, "persona", "http://w/hook", &pred),
	    PROVIDER_REFUSED);
	assert_int_equal(provider_get(p, "p1", &pred), PROVIDER_OK);
	assert_int_equal(pred.status, PREDICTION_SUCCEEDED);
	assert_string_equal(pred.output, "http://x/files/ok.mp4");
	assert_int_equal(provider_get(p, "broken", &pred), PROVIDER_BAD_ANSWER);
	assert_int_equal(provider_get(p, "down", &pred), PROVIDER_UNAVAILABLE);
	provider_free(p);
	provider_free(wrong);
	assert_null(provider_new("file:///etc/passwd", TOKEN, 100, 100));
}

static void
test_provider_timeout_is_bounded(void **state)
{
	struct provider *p = client(TOKEN, 300);
	struct prediction pred;
	int64_t t0 = clock_mono_us();

	(void)state;
	assert_int_equal(provider_get(p, "slow", &pred), PROVIDER_UNAVAILABLE);
	assert_true(clock_mono_us() - t0 < 1500000);
	provider_free(p);
}

static void
test_provider_cancel(void **state)
{
	struct provider *p = client(TOKEN, 2000), *wrong = client("wrong", 2000);
	struct prediction pred;

	(void)state;
	assert_int_equal(provider_cancel(p, "p1", &pred), PROVIDER_OK);
	assert_string_equal(pred.id, "p1");
	assert_int_equal(pred.status, PREDICTION_CANCELED);
	assert_true(prediction_is_terminal(pred.status));
	assert_int_equal(provider_cancel(wrong, "p1", &pred), PROVIDER_REFUSED);
	assert_int_equal(provider_cancel(p, "gone", &pred), PROVIDER_REFUSED);
	/* An id that would change the path is never sent. */
	assert_int_equal(provider_cancel(p, "../p1", &pred), PROVIDER_REFUSED);
	assert_int_equal(provider_get(p, "p1/cancel", &pred), PROVIDER_REFUSED);
	provider_free(p);
	provider_free(wrong);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider_api),
		cmocka_unit_test(test_provider_timeout_is_bounded),
		cmocka_unit_test(test_provider_cancel),
	};
	return cmocka_run_group_tests_name("provider", tests, setup, teardown);
}
