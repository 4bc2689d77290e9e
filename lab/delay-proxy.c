/*
 * delay-proxy: a TCP relay that delays every byte by a fixed one-way time,
 * in both directions: the distance between a serverless function and its
 * database, put on the network path instead of into the code under test.
 *
 *   delay-proxy --listen [ADDR:]PORT --target HOST:PORT --delay-ms D
 *               [--max-conns N] [--user NAME] [--pidfile FILE]
 *
 * Each accepted connection gets its own connection to the target. Whatever
 * arrives on one side at time t is written to the other side at t + D, in
 * order; an end of stream is passed on the same way (shutdown(SHUT_WR)), a
 * reset or error closes both sides at once. Buffers are bounded: a side is
 * not read while more than MAX_QUEUED bytes from it wait to be delivered.
 * Bandwidth is not limited and the TCP handshake itself is not delayed.
 *
 * One thread, ppoll(2); SIGTERM or SIGINT ends it. Started as root with
 * --user, it drops to that user once its socket is bound and its pid file
 * written (which it then may not be allowed to remove at exit).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"

#define PROG		"delay-proxy"
#define CHUNK_MAX	(64 * 1024)	/* one read */
#define MAX_QUEUED	(1024 * 1024)	/* per direction, then stop reading */

/* Bytes read at one time, due on the other side at due_us. */
struct chunk {
	struct chunk	*next;
	int64_t		 due_us;
	size_t		 len, off;
	bool		 eof;		/* the source ended: shut down the sink */
	char		 data[];
};

/* One direction of a relayed connection. */
struct dir {
	struct chunk	*head, *tail;
	size_t		 queued;	/* bytes not yet written */
	bool		 src_eof;	/* read EOF from the source */
	bool		 done;		/* EOF delivered to the sink */
};

struct conn {
	int		 cfd, sfd;	/* client side, server (target) side */
	bool		 connecting;	/* sfd's connect(2) in progress */
	struct dir	 up;		/* client -> server */
	struct dir	 down;		/* server -> client */
};

static int64_t			 delay_us;

static void
warnx_(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", PROG);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s --listen [ADDR:]PORT --target HOST:PORT "
	    "--delay-ms D [--max-conns N] [--user NAME] [--pidfile FILE]\n",
	    PROG);
	exit(2);
}

/* Splits "[HOST:]PORT" (HOST defaults to def) and resolves it. */
static bool
resolve(const char *spec, const char *def, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char		 host[256];
	const char	*colon = strrchr(spec, ':'), *port;
	struct addrinfo	 hints, *ai;
	int		 rc;

	if (colon == NULL) {
		snprintf(host, sizeof(host), "%s", def);
		port = spec;
	} else {
		if ((size_t)(colon - spec) >= sizeof(host))
			return false;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, spec, gai_strerror(rc));
		return false;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return true;
}

static void
tune_socket(int fd)
{
	int one = 1;

	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Small writes (a query, its answer) must leave at once. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
dir_free(struct dir *d)
{
	struct chunk *c, *next;

	for (c = d->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	d->head = d->tail = NULL;
	d->queued = 0;
}

static void
conn_close(struct conn *c)
{
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->sfd >= 0)
		close(c->sfd);
	dir_free(&c->up);
	dir_free(&c->down);
	c->cfd = c->sfd = -1;
}

static bool
dir_push(struct dir *d, const char *data, size_t len, bool eof)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (c == NULL)
		return false;
	c->next = NULL;
	c->due_us = clock_mono_us() + delay_us;
	c->len = len;
	c->off = 0;
	c->eof = eof;
	if (len > 0)
		memcpy(c->data, data, len);
	if (d->tail != NULL)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += len;
	return true;
}

/* Reads what src offers into d. Returns false when the relay must end. */
static bool
relay_read(int src, struct dir *d)
{
	char	 buf[CHUNK_MAX];
	ssize_t	 n = read(src, buf, sizeof(buf));

	if (n > 0)
		return dir_push(d, buf, (size_t)n, false);
	if (n == 0) {
		d->src_eof = true;
		return dir_push(d, NULL, 0, true);
	}
	return errno == EAGAIN || errno == EINTR;
}

/*
 * Writes the chunks of d that are due to dst. Returns false when the relay
 * must end; sets *blocked when dst cannot take more now.
 */
static bool
relay_write(int dst, struct dir *d, int64_t now, bool *blocked)
{
	struct chunk *c;

	*blocked = false;
	while ((c = d->head) != NULL && c->due_us <= now) {
		if (c->eof) {
			(void)shutdown(dst, SHUT_WR);
			d->done = true;
		} else {
			ssize_t n = send(dst, c->data + c->off, c->len - c->off,
			    MSG_NOSIGNAL);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					*blocked = true;
					return true;
				}
				return false;
			}
			c->off += (size_t)n;
			d->queued -= (size_t)n;
			if (c->off < c->len) {
				*blocked = true;
				return true;
			}
		}
		d->head = c->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(c);
	}
	return true;
}

/* Opens the target connection for a new client; false if it failed. */
static bool
conn_open(struct conn *c, int cfd, const struct sockaddr_storage *target,
    socklen_t tlen)
{
	memset(c, 0, sizeof(*c));
	c->cfd = cfd;
	c->sfd = socket(target->ss_family, SOCK_STREAM, 0);
	if (c->sfd < 0) {
		c->sfd = -1;
		return false;
	}
	tune_socket(c->sfd);
	if (connect(c->sfd, (const struct sockaddr *)target, tlen) == 0)
		c->connecting = false;
	else if (errno == EINPROGRESS)
		c->connecting = true;
	else
		return false;
	return true;
}

/* The earlier of a and the due time of d's first chunk. */
static int64_t
next_due(int64_t a, const struct dir *d)
{
	if (d->head != NULL && (a < 0 || d->head->due_us < a))
		return d->head->due_us;
	return a;
}

int
main(int argc, char **argv)
{
	const char		*listen_spec = NULL, *target_spec = NULL;
	const char		*user = NULL, *pidfile = NULL;
	long			 max_conns = 2000, delay_ms = -1;
	struct sockaddr_storage	 lss, tss;
	socklen_t		 llen, tlen;
	struct conn		*conns;
	struct pollfd		*pfds;
	struct rlimit		 rl;
	int			 lfd, one = 1;
	long			 nconns = 0, served = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			usage();
		if (strcmp(a, "--listen") == 0)
			listen_spec = argv[++i];
		else if (strcmp(a, "--target") == 0)
			target_spec = argv[++i];
		else if (strcmp(a, "--delay-ms") == 0)
			delay_ms = cli_long(PROG, a, argv[++i], 0, 60000);
		else if (strcmp(a, "--max-conns") == 0)
			max_conns = cli_long(PROG, a, argv[++i], 1, 100000);
		else if (strcmp(a, "--user") == 0)
			user = argv[++i];
		else if (strcmp(a, "--pidfile") == 0)
			pidfile = argv[++i];
		else
			usage();
	}
	if (listen_spec == NULL || target_spec == NULL || delay_ms < 0)
		usage();
	delay_us = delay_ms * 1000;
	if (!resolve(listen_spec, "127.0.0.1", &lss, &llen) ||
	    !resolve(target_spec, "127.0.0.1", &tss, &tlen))
		return 2;

	/* Two descriptors per connection, and some to spare. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)(2 * max_conns + 64)) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)(2 * max_conns + 64) ?
		    rl.rlim_max : (rlim_t)(2 * max_conns + 64);
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)(2 * max_conns + 64))
			max_conns = ((long)rl.rlim_cur - 64) / 2;
	}
	if (max_conns < 1) {
		fprintf(stderr, "%s: too few file descriptors\n", PROG);
		return 1;
	}

	if ((lfd = socket(lss.ss_family, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&lss, llen) < 0 ||
	    listen(lfd, 1024) < 0) {
		fprintf(stderr, "%s: listen on %s: %s\n", PROG, listen_spec,
		    strerror(errno));
		return 1;
	}
	tune_socket(lfd);

	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");

		if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
		    fclose(f) != 0) {
			fprintf(stderr, "%s: %s: %s\n", PROG, pidfile,
			    strerror(errno));
			return 1;
		}
	}

	if (user != NULL && geteuid() == 0) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL) {
			warnx_("no user %s", user);
			return 1;
		}
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0) {
			fprintf(stderr, "%s: dropping to %s: %s\n", PROG, user,
			    strerror(errno));
			return 1;
		}
	}
	cli_catch_stop();

	conns = calloc((size_t)max_conns, sizeof(*conns));
	pfds = calloc((size_t)(2 * max_conns + 1), sizeof(*pfds));
	if (conns == NULL || pfds == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return 1;
	}
	fprintf(stderr, "%s: %s -> %s, %ld ms each way, at most %ld "
	    "connections\n", PROG, listen_spec, target_spec, delay_ms,
	    max_conns);

	while (!cli_stop) {
		int64_t		 now = clock_mono_us(), due = -1;
		struct timespec	 ts, *tsp = NULL;
		int		 np = 0, rc;

		/* The listening socket, while there is room. */
		pfds[np].fd = nconns < max_conns ? lfd : -1;
		pfds[np].events = POLLIN;
		np++;
		for (long i = 0; i < nconns; i++) {
			struct conn	*c = &conns[i];
			short		 cev = 0, sev = 0;

			if (c->connecting)
				sev |= POLLOUT;
			else {
				if (!c->up.src_eof && c->up.queued < MAX_QUEUED)
					cev |= POLLIN;
				if (!c->down.src_eof &&
				    c->down.queued < MAX_QUEUED)
					sev |= POLLIN;
				/* Writes wait for their time, then for room. */
				if (c->up.head != NULL && c->up.head->due_us <= now)
					sev |= POLLOUT;
				if (c->down.head != NULL &&
				    c->down.head->due_us <= now)
					cev |= POLLOUT;
				due = next_due(due, &c->up);
				due = next_due(due, &c->down);
			}
			pfds[np].fd = c->cfd;
			pfds[np].events = cev;
			pfds[np + 1].fd = c->sfd;
			pfds[np + 1].events = sev;
			np += 2;
		}
		if (due >= 0) {
			int64_t wait = due > now ? due - now : 0;

			ts.tv_sec = wait / 1000000;
			ts.tv_nsec = (wait % 1000000) * 1000;
			tsp = &ts;
		}
		rc = ppoll(pfds, (nfds_t)np, tsp, NULL);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: poll: %s\n", PROG, strerror(errno));
			break;
		}
		now = clock_mono_us();

		/* Relay on the connections that were polled (pfds[1..]). */
		for (long i = 0; i < nconns; i++) {
			struct conn	*c = &conns[i];
			struct pollfd	*cp = &pfds[1 + 2 * i], *sp = cp + 1;
			bool		 ok = true, blocked;

			if (c->connecting && sp->revents != 0) {
				int err = 0;
				socklen_t el = sizeof(err);

				if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR,
				    &err, &el) < 0 || err != 0)
					ok = false;
				else
					c->connecting = false;
			} else if (!c->connecting) {
				if (ok && (cp->revents & (POLLIN | POLLHUP |
				    POLLERR)) && !c->up.src_eof &&
				    c->up.queued < MAX_QUEUED)
					ok = relay_read(c->cfd, &c->up);
				if (ok && (sp->revents & (POLLIN | POLLHUP |
				    POLLERR)) && !c->down.src_eof &&
				    c->down.queued < MAX_QUEUED)
					ok = relay_read(c->sfd, &c->down);
				if (ok)
					ok = relay_write(c->sfd, &c->up, now,
					    &blocked);
				if (ok)
					ok = relay_write(c->cfd, &c->down, now,
					    &blocked);
				/* A reset or a dead socket ends the relay. */
				if ((cp->revents | sp->revents) &
				    (POLLNVAL | POLLERR))
					ok = false;
			}
			if (!ok || (c->up.done && c->down.done))
				conn_close(c);
		}
		/* Compact: closed connections leave the array. */
		{
			long j = 0;

			for (long i = 0; i < nconns; i++)
				if (conns[i].cfd >= 0)
					conns[j++] = conns[i];
			nconns = j;
		}

		if (pfds[0].revents & POLLIN) {
			while (nconns < max_conns) {
				int cfd = accept(lfd, NULL, NULL);

				if (cfd < 0)
					break;
				tune_socket(cfd);
				if (!conn_open(&conns[nconns], cfd, &tss, tlen)) {
					fprintf(stderr, "%s: connect to %s: "
					    "%s\n", PROG, target_spec,
					    strerror(errno));
					conn_close(&conns[nconns]);
					continue;
				}
				nconns++;
				served++;
			}
		}
	}
	for (long i = 0; i < nconns; i++)
		conn_close(&conns[i]);
	close(lfd);
	if (pidfile != NULL)
		(void)unlink(pidfile);
	fprintf(stderr, "%s: stopping after %ld connections\n", PROG, served);
	free(conns);
	free(pfds);
	return 0;
}
