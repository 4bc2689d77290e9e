/*
 * fixture.h: what several unit tests share: a scratch folder that goes
 * away, and a small HTTP server in a child process.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <sys/types.h>

#include <stddef.h>

/* A fresh folder under /tmp, and a file name in it (not made). */
struct scratch {
	char	 dir[64];
	char	 path[128];	/* dir/file */
};

/* NULL on failure. */
struct scratch	*scratch_new(const char *file);
/* Removes the folder and all in it; 0 or -1. */
int		 scratch_free(struct scratch *);

/*
 * Answers one request: fd is the connection, request its head (the
 * request line and headers, NUL-terminated). Runs in a child of its own.
 */
typedef void	(*httpd_answer)(int fd, const char *request);

/* Serves on 127.0.0.1 from a child process; returns its pid, or -1. */
pid_t	httpd_start(httpd_answer, int *port);
void	httpd_stop(pid_t);
/* Writes all of buf or ends the connection's child. */
void	httpd_put(int fd, const void *buf, size_t len);
/* A whole answer: headers are extra lines, each ending in "\r\n". */
void	httpd_reply(int fd, const char *status, const char *headers,
	    const void *body, size_t len);

#endif
