/*
 * http_io.h: one request's exchange with the server in front, whatever
 * the protocol: its parameters (CGI/1.1 meta-variables, "NAME=value"), its
 * body, and the way back. lib/fcgi_io.c fills it from a FastCGI
 * connection, lib/cgi_io.c from a plain CGI process's environment, stdin
 * and stdout; lib/route.c reads and answers through it alone.
 */
#ifndef HTTP_IO_H
#define HTTP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_io {
	char	**params;	/* NULL-terminated; the first of a name wins */
	/*
	 * Reads up to len body bytes into buf. Returns how many (0 at the
	 * end of the body), or -1 when the body cannot be read: the client
	 * went away, or sent nothing for the exchange's read bound.
	 */
	ssize_t	(*read)(struct http_io *, char *buf, size_t len);
	/* Writes all of buf; false when the client is gone. */
	bool	(*write)(struct http_io *, const char *buf, size_t len);
};

#endif /* HTTP_IO_H */
