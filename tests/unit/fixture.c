/*
 * fixture.c: the scratch folder and the HTTP server of the unit tests.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

struct scratch *
scratch_new(const char *file)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	snprintf(s->dir, sizeof(s->dir), "/tmp/fpl-test-XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		free(s);
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, file);
	return s;
}

int
scratch_free(struct scratch *s)
{
	char	 cmd[96];
	int	 rc;

	if (s == NULL)
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	rc = system(cmd) == 0 ? 0 : -1;
	free(s);
	return rc;
}

void
httpd_put(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		_exit(1);
}

void
httpd_reply(int fd, const char *status, const char *headers, const void *body,
    size_t len)
{
	char	 head[512];
	int	 n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, len,
	    headers);

	httpd_put(fd, head, (size_t)n);
	httpd_put(fd, body, len);
}

/* One child per connection: reads the request's head, answers, exits. */
static void
httpd_serve(int lfd, httpd_answer answer)
{
	signal(SIGCHLD, SIG_IGN);	/* no zombies */
	signal(SIGPIPE, SIG_DFL);
	for (;;) {
		char	 req[8192] = "";
		size_t	 got = 0;
		int	 fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (fork() != 0) {
			close(fd);
			continue;
		}
		while (got < sizeof(req) - 1 &&
		    strstr(req, "\r\n\r\n") == NULL) {
			ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
		}
		answer(fd, req);
		close(fd);
		_exit(0);
	}
}

pid_t
httpd_start(httpd_answer answer, int *port)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 len = sizeof(sin);
	pid_t			 pid;
	int			 lfd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) != 0) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	if ((pid = fork()) == 0)
		httpd_serve(lfd, answer);
	close(lfd);
	return pid;
}

void
httpd_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
