/*
 * fcgi-hello: the FastCGI ceiling of the benchmarks (row 2 of `make bench`).
 *
 * A trivial FastCGI responder on libfcgi's explicit-request API: it answers
 * every request with the same small JSON document and the same headers as
 * the real workers (lib/worker.c), so that the difference between this row
 * and the application's rows is the application's own work. It reads
 * nothing, touches no database and writes no log line.
 *
 * Started by scripts/bench under spawn-fcgi + multiwatch, as www-data; built
 * by mk/bench.mk into build/bench/. Never part of the service.
 */
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
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		dprintf(STDERR_FILENO, "fcgi-hello: FCGX_Init failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		FCGX_PutStr(head, headlen, fr.out);
		FCGX_PutStr(BODY, bodylen, fr.out);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	return 0;
}
