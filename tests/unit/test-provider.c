/*
 * Unit tests of lib/provider.c against a tiny HTTP server forked on
 * loopback: the predictions API (create, get, cancel) and bounded waits.
 * Copies of the output videos are tested in test-download.c.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdarg.h>
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
#include "log.h"
#include "provider.h"

#define TOKEN	"sekret-token"

static pid_t	server_pid;
static int	server_port;

static void
reply(int fd, const char *status, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
	    "Content-Type: application/json\r\nConnection: close\r\n\r\n", status, len);

	if (write(fd, head, (size_t)n) < 0 || write(fd, body, len) < 0)
		_exit(1);
}

/* Answers one request per connection, by its first line. */
static void
serve(int lfd)
{
	for (;;) {
		char req[8192] = "";
		size_t got = 0;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (fork() != 0) {	/* one child per connection */
			close(fd);
			continue;
		}
		while (got < sizeof(req) - 1 && strstr(req, "\r\n\r\n") == NULL) {
			ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
		}
		bool authed = strstr(req, "Authorization: Bearer " TOKEN "\r\n") != NULL;
		if (strncmp(req, "POST /v1/predictions ", 21) == 0) {
			const char *b = "{\"id\":\"p1\",\"status\":\"starting\",\"output\":null}";
			if (authed)
				reply(fd, "201 Created", b, strlen(b));
			else
				reply(fd, "401 Unauthorized", "{}", 2);
		} else if (strncmp(req, "GET /v1/predictions/p1 ", 23) == 0) {
			const char *b = "{\"id\":\"p1\",\"status\":\"succeeded\","
			    "\"output\":[\"http://x/files/ok.mp4\"]}";
			reply(fd, "200 OK", b, strlen(b));
		} else if (strncmp(req, "GET /v1/predictions/broken ", 27) == 0) {
			reply(fd, "200 OK", "{\"nope\":", 8);
		} else if (strncmp(req, "GET /v1/predictions/down ", 25) == 0) {
			reply(fd, "503 Service Unavailable", "{}", 2);
		} else if (strncmp(req, "GET /v1/predictions/slow ", 25) == 0) {
			sleep(3);
		} else if (strncmp(req, "POST /v1/predictions/p1/cancel ", 31) == 0) {
			const char *b = "{\"id\":\"p1\",\"status\":\"canceled\","
			    "\"output\":null}";
			if (authed)
				reply(fd, "200 OK", b, strlen(b));
			else
				reply(fd, "401 Unauthorized", "{}", 2);
		} else
			reply(fd, "404 Not Found", "{}", 2);
		close(fd);
		_exit(0);
	}
}

static int
setup(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(lfd, 16) != 0 || getsockname(lfd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	server_port = ntohs(sin.sin_port);
	if ((server_pid = fork()) == 0) {
		signal(SIGCHLD, SIG_IGN);	/* no zombies */
		serve(lfd);
	}
	close(lfd);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_init("test-provider", LOG_ERROR);
	return server_pid > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
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
