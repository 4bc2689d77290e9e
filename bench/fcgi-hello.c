/*
 * fcgi-hello: the FastCGI ceiling of the benchmarks (row 2 of `make bench`).
 *
 * A trivial FastCGI responder on libfcgi's explicit-request API: it answers
 * every request with the same small JSON document and the same headers as
 * the real workers (lib/worker.c), so that the difference between this row
 * and the application's rows is the application's own work. It reads
 * nothing, touches no database and writes no log line.
 *
 * Started by scripts/bench under spawn-fcgi + multiwatch, as www-data, or in
 * place of idle-video behind each front end (its row 8 ceilings: nginx's
 * worker set, mod_fcgid's class, mod_cgid's script). Like the workers, it
 * is also a CGI program: started without a listening socket at fd 0, it
 * answers its one request on standard output and exits. Built by
 * mk/bench.mk into build/bench/. Never part of the service.
 */
#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

/* About the size of a cached idle-video answer. */
#define BODY	"{\"status\":\"completed\"," \
		"\"videoUrl\":\"/media/idle/00000000-0000-4000-8000-000000000000.mp4\"," \
		"\"jobId\":null,\"source\":\"hello\"}"

static const char response[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: %d\r\n"
    "Cache-Control: no-store\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "\r\n";

/* As lib/cgi_io.c decides: only a listening socket at fd 0 is FastCGI. */
static int
is_cgi(void)
{
	int		 listening = 0;
	socklen_t	 len = sizeof(listening);

	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) == -1 || !listening;
}

/* Writes all of BUF to fd 1; 0 on success. */
static int
write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(void)
{
	FCGX_Request	 fr;
	char		 head[sizeof(response) + 16];
	int		 headlen, bodylen = (int)strlen(BODY);

	signal(SIGPIPE, SIG_IGN);
	headlen = snprintf(head, sizeof(head), response, bodylen);
	if (headlen < 0 || (size_t)headlen >= sizeof(head)) {
		dprintf(STDERR_FILENO, "fcgi-hello: header does not fit\n");
		return 1;
	}
	if (is_cgi())
		return write_all(head, (size_t)headlen) != 0 ||
		    write_all(BODY, (size_t)bodylen) != 0;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		dprintf(STDERR_FILENO, "fcgi-hello: FCGX_Init failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		FCGX_PutStr(head, headlen, fr.out);
		FCGX_PutStr(BODY, bodylen, fr.out);
		/*
		 * Closed as the workers close theirs (lib/fcgi_io.c): a
		 * request read to its end (the bench sends GETs, no body)
		 * without libfcgi's shutdown and wait for the front end's.
		 */
		if (!fr.keepConnection && FCGX_GetChar(fr.in) == EOF &&
		    FCGX_HasSeenEOF(fr.in))
			(void)FCGX_Detach(&fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	return 0;
}
