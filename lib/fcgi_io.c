/*
 * fcgi_io.c: http_io over libfcgi's request streams.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fcgi_io.h"

static ssize_t
fcgi_io_read(struct http_io *io, char *buf, size_t len)
{
	struct fcgi_io	*f = (struct fcgi_io *)io;
	int		 n;

	if (len > INT_MAX)
		len = INT_MAX;
	/* libfcgi reads a record at a time; 0 is the end of FCGI_STDIN. */
	n = FCGX_GetStr(buf, (int)len, f->fr.in);
	if (n == 0 && FCGX_GetError(f->fr.in) != 0)
		return -1;
	return n;
}

static bool
fcgi_io_write(struct http_io *io, const char *buf, size_t len)
{
	struct fcgi_io	*f = (struct fcgi_io *)io;

	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		if (FCGX_PutStr(buf, chunk, f->fr.out) != chunk)
			return false;
		buf += chunk;
		len -= (size_t)chunk;
	}
	return true;
}

bool
fcgi_io_init(struct fcgi_io *f, int fd)
{
	memset(f, 0, sizeof(*f));
	return FCGX_Init() == 0 && FCGX_InitRequest(&f->fr, fd, 0) == 0;
}

void
fcgi_io_attach(struct fcgi_io *f)
{
	f->io.params = f->fr.envp;
	f->io.read = fcgi_io_read;
	f->io.write = fcgi_io_write;
}

int
fcgi_io_accept(struct fcgi_io *f)
{
	int	 rc = FCGX_Accept_r(&f->fr);

	if (rc == 0)
		fcgi_io_attach(f);
	return rc;
}

bool
fcgi_io_kept(const struct fcgi_io *f)
{
	return f->fr.ipcFd >= 0;
}

int
fcgi_io_wait_fd(const struct fcgi_io *f, int listen_fd)
{
	return fcgi_io_kept(f) ? f->fr.ipcFd : listen_fd;
}

/*
 * Whether the request was read to its end, the empty FCGI_STDIN record
 * that closes it: nothing more comes from the front end on this
 * connection. With its body read whole (body_read), only that record can
 * be left, and it came with the rest (every front end sends a request
 * without a body at once): reading it makes no system call. A body not
 * read (a request refused before it) is left alone.
 */
static bool
fcgi_io_read_to_end(struct fcgi_io *f, bool body_read)
{
	if (FCGX_HasSeenEOF(f->fr.in))
		return true;
	return body_read && FCGX_GetChar(f->fr.in) == EOF &&
	    FCGX_HasSeenEOF(f->fr.in) && FCGX_GetError(f->fr.in) == 0;
}

void
fcgi_io_finish(struct fcgi_io *f, bool body_read)
{
	/*
	 * libfcgi ends a connection by shutting down its side and reading
	 * until the front end closes its own (up to 2 s), so that data still
	 * on its way cannot turn into a reset that loses the answer. Once
	 * the request was read to its end, none is: the connection is simply
	 * closed (FCGX_Detach: no shutdown), three system calls fewer
	 * (shutdown, poll, read) and one wake-up of the front end less. A
	 * connection the front end keeps is not closed at all.
	 */
	if (!f->fr.keepConnection && fcgi_io_read_to_end(f, body_read))
		(void)FCGX_Detach(&f->fr);
	FCGX_Finish_r(&f->fr);
	f->io.params = NULL;
}

void
fcgi_io_free(struct fcgi_io *f)
{
	FCGX_Free(&f->fr, 1);
}
