/*
 * fcgi_io.h: a request's exchange over a FastCGI connection (libfcgi),
 * as a struct http_io. The accept loop around it is lib/worker.c's.
 */
#ifndef FCGI_IO_H
#define FCGI_IO_H

#include <stdbool.h>

#include <fcgiapp.h>

#include "http_io.h"

struct fcgi_io {
	struct http_io	 io;	/* first: an http_io is a fcgi_io */
	FCGX_Request	 fr;
};

/*
 * Prepares f to accept requests on the listening socket fd (see
 * FCGX_InitRequest). Returns false when libfcgi cannot start.
 */
bool	fcgi_io_init(struct fcgi_io *f, int fd);

/*
 * Points f's http_io at the request that f->fr holds now (after an
 * accept; tests/fuzz/ fill f->fr themselves).
 */
void	fcgi_io_attach(struct fcgi_io *f);

/*
 * Accepts the next request (FCGX_Accept_r: first finishing the one in
 * hand) and attaches it. Returns 0, or libfcgi's negative errno: -EAGAIN
 * when another worker took the connection.
 */
int	fcgi_io_accept(struct fcgi_io *f);

/* Whether the front end keeps the last request's connection for its next. */
bool	fcgi_io_kept(const struct fcgi_io *f);

/*
 * The descriptor that brings the next request: the connection the front
 * end keeps open, else the listening socket.
 */
int	fcgi_io_wait_fd(const struct fcgi_io *f, int listen_fd);

/*
 * Ends the request in hand: its answer leaves, its parameters die.
 * body_read: the request's body, if it had one, was read whole, so that
 * nothing but the record ending it can be left on the connection; then
 * the connection is closed at once (see fcgi_io.c).
 */
void	fcgi_io_finish(struct fcgi_io *f, bool body_read);

void	fcgi_io_free(struct fcgi_io *f);

#endif /* FCGI_IO_H */
