/*
 * cgi_io.c: http_io over a CGI process's environment, stdin and stdout.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgi_io.h"

static ssize_t
cgi_io_read(struct http_io *io, char *buf, size_t len)
{
	struct cgi_io	*c = (struct cgi_io *)io;
	struct pollfd	 pfd = { .fd = c->in, .events = POLLIN };
	ssize_t		 n;
	int		 rc;

	/* No request hangs: a body that stops arriving is given up. */
	while ((rc = poll(&pfd, 1, c->read_timeout_ms)) == -1 &&
	    errno == EINTR)
		;
	if (rc <= 0)
		return -1;
	while ((n = read(c->in, buf, len)) == -1 && errno == EINTR)
		;
	return n;
}

static bool
cgi_io_write(struct http_io *io, const char *buf, size_t len)
{
	struct cgi_io	*c = (struct cgi_io *)io;

	while (len > 0) {
		ssize_t n = write(c->out, buf, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

void
cgi_io_init(struct cgi_io *c, char **params, int in, int out,
    int read_timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->io.params = params;
	c->io.read = cgi_io_read;
	c->io.write = cgi_io_write;
	c->in = in;
	c->out = out;
	c->read_timeout_ms = read_timeout_ms;
}

bool
cgi_io_is_cgi(void)
{
	int		 listening = 0;
	socklen_t	 len = sizeof(listening);

	/* Some servers hand a CGI its client's socket: only a listening one counts. */
	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) == -1 || !listening;
}
