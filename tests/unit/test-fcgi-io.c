/*
 * Unit tests of lib/fcgi_io.c's end of a request, over a real unix socket
 * and libfcgi: a request read to its end is closed at once; one whose body
 * was left unread keeps libfcgi's lingering close, which waits for the
 * front end to finish sending (else the unread bytes could reset the
 * connection and lose the answer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fcgi_io.h"
#include "fixture.h"

/* FastCGI record types and the responder role (the specification's). */
enum { BEGIN = 1, END = 3, PARAMS = 4, STDIN = 5, STDOUT = 6 };

struct conn {
	struct scratch	*s;
	int		 listen_fd;
	int		 client;
	struct fcgi_io	 f;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends one record of type and content to buf at *n. */
static void
record(unsigned char *buf, size_t *n, int type, const void *content,
    size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	memcpy(buf + *n, h, sizeof(h));
	memcpy(buf + *n + sizeof(h), content, len);
	*n += sizeof(h) + len;
}

/* Appends a name-value pair (both shorter than 128 bytes) to p at *n. */
static void
pair(unsigned char *p, size_t *n, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	p[(*n)++] = (unsigned char)nl;
	p[(*n)++] = (unsigned char)vl;
	memcpy(p + *n, name, nl);
	memcpy(p + *n + nl, value, vl);
	*n += nl + vl;
}

/*
 * Listens on a fresh socket, connects to it and sends a whole request:
 * method, and a body (its length as CONTENT_LENGTH) when body is not NULL.
 * Then accepts it through fcgi_io.
 */
static void
conn_open(struct conn *c, const char *method, const char *body)
{
	struct sockaddr_un	 sa = { .sun_family = AF_UNIX };
	unsigned char		 req[4096], params[512];
	unsigned char		 begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t			 n = 0, pn = 0;
	char			 clen[24];

	assert_non_null(c->s = scratch_new("fcgi.sock"));
	assert_true(strlen(c->s->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, c->s->path, strlen(c->s->path) + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(c->listen_fd >= 0);
	assert_int_equal(bind(c->listen_fd, (struct sockaddr *)&sa,
	    sizeof(sa)), 0);
	assert_int_equal(listen(c->listen_fd, 4), 0);
	c->client = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(c->client, (struct sockaddr *)&sa,
	    sizeof(sa)), 0);

	pair(params, &pn, "REQUEST_METHOD", method);
	pair(params, &pn, "REQUEST_URI", "/api/personas");
	if (body != NULL) {
		snprintf(clen, sizeof(clen), "%zu", strlen(body));
		pair(params, &pn, "CONTENT_LENGTH", clen);
	}
	record(req, &n, BEGIN, begin, sizeof(begin));
	record(req, &n, PARAMS, params, pn);
	record(req, &n, PARAMS, "", 0);
	if (body != NULL)
		record(req, &n, STDIN, body, strlen(body));
	record(req, &n, STDIN, "", 0);
	assert_int_equal(write(c->client, req, n), (ssize_t)n);

	assert_true(fcgi_io_init(&c->f, c->listen_fd));
	assert_int_equal(fcgi_io_accept(&c->f), 0);
	assert_true(c->f.io.write(&c->f.io, "Status: 200 OK\r\n\r\nok", 20));
}

/* Reads what the worker sent until it closed; true when it was the answer. */
static bool
client_reads_answer(int fd)
{
	unsigned char	 buf[4096];
	size_t		 n = 0;
	ssize_t		 r;

	while ((r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	if (r < 0 || n < 16)
		return false;
	/* STDOUT with the answer first, END_REQUEST last. */
	return buf[1] == STDOUT && memmem(buf, n, "ok", 2) != NULL &&
	    buf[n - 16 + 1] == END;
}

static void
conn_close(struct conn *c)
{
	close(c->client);
	fcgi_io_free(&c->f);
	close(c->listen_fd);
	scratch_free(c->s);
}

/* A bodyless GET: closed at once, the front end's side still open. */
static void
test_get_closes_at_once(void **state)
{
	struct conn	 c;
	int64_t		 t0;

	(void)state;
	conn_open(&c, "GET", NULL);
	t0 = now_ms();
	fcgi_io_finish(&c.f, true);
	assert_true(now_ms() - t0 < 500);	/* libfcgi's linger: 2 s */
	assert_true(client_reads_answer(c.client));
	conn_close(&c);
}

/* A body read whole (its Content-Length, as lib/route.c reads it): closed
 * at once too. */
static void
test_body_read_closes_at_once(void **state)
{
	struct conn	 c;
	char		 buf[5];
	int64_t		 t0;

	(void)state;
	conn_open(&c, "POST", "hello");
	assert_int_equal(c.f.io.read(&c.f.io, buf, sizeof(buf)), 5);
	t0 = now_ms();
	fcgi_io_finish(&c.f, true);
	assert_true(now_ms() - t0 < 500);
	assert_true(client_reads_answer(c.client));
	conn_close(&c);
}

static void *
close_later(void *arg)
{
	usleep(300 * 1000);
	shutdown(*(int *)arg, SHUT_WR);
	return NULL;
}

/*
 * A body left unread (a request refused before its body): the worker
 * lingers until the front end is done sending (here: it shuts down its
 * side after 300 ms), and the answer arrives whole.
 */
static void
test_unread_body_lingers(void **state)
{
	struct conn	 c;
	pthread_t	 t;
	int64_t		 t0, took;

	(void)state;
	conn_open(&c, "POST", "hello");
	assert_int_equal(pthread_create(&t, NULL, close_later, &c.client), 0);
	t0 = now_ms();
	fcgi_io_finish(&c.f, false);
	took = now_ms() - t0;
	pthread_join(t, NULL);
	assert_true(took >= 250);
	assert_true(took < 1900);
	assert_true(client_reads_answer(c.client));
	conn_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_closes_at_once),
		cmocka_unit_test(test_body_read_closes_at_once),
		cmocka_unit_test(test_unread_body_lingers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
