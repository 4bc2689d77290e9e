/*
 * cgi_io.h: a plain CGI/1.1 process's one request, as a struct http_io:
 * the meta-variables in the environment, the body on stdin, the answer on
 * stdout (with a "Status:" line, which every server reads).
 */
#ifndef CGI_IO_H
#define CGI_IO_H

#include "http_io.h"

struct cgi_io {
	struct http_io	 io;	/* first: an http_io is a cgi_io */
	int		 in, out;
	int		 read_timeout_ms; /* bound on waiting for body bytes */
};

/*
 * Prepares c for the request in params (the process's environment),
 * reading its body from fd in and answering on fd out. A body that stops
 * arriving for read_timeout_ms ends the read (the request is answered 400).
 */
void	cgi_io_init(struct cgi_io *c, char **params, int in, int out,
	    int read_timeout_ms);

/*
 * Whether this process was started as plain CGI: fd 0 is not a listening
 * socket (FastCGI servers hand their workers one there).
 */
bool	cgi_io_is_cgi(void);

#endif /* CGI_IO_H */
