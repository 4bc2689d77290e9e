/*
 * fcgi_io.c: http_io over libfcgi's request streams.
 */
#include <limits.h>
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

int
fcgi_io_wait_fd(const struct fcgi_io *f, int listen_fd)
{
	return f->fr.ipcFd >= 0 ? f->fr.ipcFd : listen_fd;
}

void
fcgi_io_finish(struct fcgi_io *f)
{
	FCGX_Finish_r(&f->fr);
	f->io.params = NULL;
}

void
fcgi_io_free(struct fcgi_io *f)
{
	FCGX_Free(&f->fr, 1);
}
