/*
 * metrics.c: the shared counters file, its slots, and its exposition.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "route.h"

#define METRICS_MAGIC	0x4d4c5046u	/* "FPLM" */
#define METRICS_FILE	"metrics.shm"
#define METRICS_SLOTS	1024

/* The statuses counted by name; any other is counted as "other". */
static const int metrics_statuses[] = { 200, 201, 202, 204, 400, 401, 404,
    405, 411, 413, 429, 500, 502, 503, 504 };
#define METRICS_NSTATUS	(sizeof(metrics_statuses) / sizeof(int) + 1)

/* The answer sources (http_response's source); any other counts as "-". */
enum metrics_source {
	SOURCE_CACHE, SOURCE_JOB, SOURCE_QUICK_CHECK, SOURCE_DB, SOURCE_NONE,
	METRICS_NSOURCE
};
static const char *const metrics_sources[METRICS_NSOURCE] = { "cache", "job",
    "quick-check", "db", "-" };

/* The routes counted: route_table's, then "other" (no route: a 404). */
#define METRICS_NROUTE	(ROUTE_COUNT + 1)
#define ROUTE_OTHER	ROUTE_COUNT

/* Upper bounds of the duration buckets, in µs; then +Inf. */
static const int64_t metrics_buckets_us[] = { 500, 1000, 2500, 5000,
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000 };
#define METRICS_NBUCKET	(sizeof(metrics_buckets_us) / sizeof(int64_t) + 1)

static const char *const metrics_calls[METRICS_CALL__MAX] = {
	"create", "get", "cancel",
};

struct metrics_slot {
	int32_t		 pid;		/* 0: free */
	int32_t		 engine;
	int32_t		 pg_connected;
	char		 exe[20];
};

/* The file; every process maps the same bytes. */
struct metrics_file {
	uint32_t	 magic;		/* written last, when the rest is */
	uint32_t	 size;		/* sizeof(struct metrics_file) */
	uint64_t	 requests[METRICS_NROUTE][METRICS_NSTATUS]
			    [METRICS_NSOURCE];
	uint64_t	 duration[METRICS_NROUTE][METRICS_NBUCKET];
	uint64_t	 duration_sum_us[METRICS_NROUTE];
	uint64_t	 pg_queries[2][DB_STMT__MAX];	/* [engine] */
	uint64_t	 pg_connects[2];
	uint64_t	 pg_connect_failures[2][DB_STATUS__MAX];
	uint64_t	 cache_hits, cache_misses;
	uint64_t	 provider_calls[METRICS_CALL__MAX][PROVIDER__MAX];
	uint64_t	 downloads[DOWNLOAD__MAX];
	struct metrics_slot slots[METRICS_SLOTS];
};

static struct metrics_file	*metrics;	/* NULL: counting nothing */
static struct metrics_slot	*metrics_slot;	/* ours, or NULL */
static int			 metrics_engine;
static pid_t			 metrics_pid;	/* who opened it */

#define ADD(field, n)	__atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define LOAD(field)	__atomic_load_n(&(field), __ATOMIC_RELAXED)

/*
 * Whether the file at fd is a metrics file of ours with another layout
 * (an older build's): its header says so.
 */
static bool
metrics_older(int fd)
{
	uint32_t	 head[2];

	return pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    head[0] == METRICS_MAGIC && head[1] != sizeof(struct metrics_file);
}

/* Whether path still names the file open at fd. */
static bool
metrics_still_named(int fd, const char *path)
{
	struct stat	 a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Opens, sizes and maps the file at path; NULL when it cannot. A file of
 * an older layout is replaced by a new one (once: replace says whether it
 * may), its counts starting again; anything else that is not ours is left
 * alone, and nothing is counted.
 */
static struct metrics_file *
metrics_map(const char *path, bool replace)
{
	struct metrics_file	*m = MAP_FAILED;
	struct stat		 st;
	int			 fd, err;
	bool			 older = false;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660)) == -1) {
		log_warn("metrics: %s", path);
		return NULL;
	}
	/* One maker at a time; the others wait for the header. */
	if (flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1) {
		log_warn("metrics: %s", path);
		goto out;
	}
	if (st.st_size == 0 && (err = posix_fallocate(fd, 0,
	    sizeof(struct metrics_file))) != 0) {
		errno = err;
		log_warn("metrics: reserving %zu bytes for %s",
		    sizeof(struct metrics_file), path);
		goto out;
	}
	if (st.st_size != 0 && metrics_older(fd)) {
		older = true;
		goto out;
	}
	if (st.st_size != 0 && st.st_size != sizeof(struct metrics_file)) {
		log_warnx("metrics: %s is not a metrics file of ours (%lld "
		    "bytes): counting nothing", path, (long long)st.st_size);
		goto out;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		log_warn("metrics: mmap %s", path);
		goto out;
	}
	if (m->magic == 0) {
		m->size = sizeof(*m);
		__atomic_store_n(&m->magic, METRICS_MAGIC, __ATOMIC_RELEASE);
	} else if (m->magic != METRICS_MAGIC || m->size != sizeof(*m)) {
		log_warnx("metrics: %s is not a metrics file of ours", path);
		munmap(m, sizeof(*m));
		m = MAP_FAILED;
	}
out:
	/*
	 * Unlocked by name: a mapping holds the open file description, and
	 * with it the lock, past close(2).
	 */
	if (older && replace && metrics_still_named(fd, path)) {
		/*
		 * Under its lock, and only while the path still names it:
		 * another process may have replaced it already.
		 */
		log_msg(LOG_INFO, "metrics: %s is of an older layout: replaced, "
		    "its counts start again", path);
		if (unlink(path) == -1)
			log_warn("metrics: unlink %s", path);
	}
	(void)flock(fd, LOCK_UN);
	close(fd);	/* the mapping and its counts stay */
	if (older)
		return replace ? metrics_map(path, false) : NULL;
	return m == MAP_FAILED ? NULL : m;
}

/* Whether the process of a slot's pid has gone. */
static bool
metrics_gone(int32_t pid)
{
	return pid > 0 && kill(pid, 0) == -1 && errno == ESRCH;
}

bool
metrics_open(const char *path, const char *cache_path, const char *exe,
    bool engine)
{
	char		 buf[PATH_MAX], dir[PATH_MAX];
	int32_t		 me = (int32_t)getpid();

	if (metrics != NULL && metrics_pid == me)
		return true;
	if (metrics != NULL) {
		/* A forked child: the mapping is ours, the slot the parent's. */
		munmap(metrics, sizeof(*metrics));
		metrics = NULL;
		metrics_slot = NULL;
	}
	if (path != NULL && strcmp(path, "off") == 0)
		return false;	/* counting turned off: every count a no-op */
	if (path == NULL || *path == '\0') {
		snprintf(dir, sizeof(dir), "%s", cache_path);
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", dirname(dir),
		    METRICS_FILE) >= sizeof(buf))
			return false;
		path = buf;
	}
	if ((metrics = metrics_map(path, true)) == NULL)
		return false;
	metrics_engine = engine ? 1 : 0;
	metrics_pid = me;
	/* A free slot, or one whose process has gone (killed, say). */
	for (size_t i = 0; i < METRICS_SLOTS; i++) {
		struct metrics_slot	*s = &metrics->slots[i];
		int32_t			 pid = LOAD(s->pid);

		if ((pid == 0 || metrics_gone(pid)) &&
		    __atomic_compare_exchange_n(&s->pid, &pid, me, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			s->engine = metrics_engine;
			__atomic_store_n(&s->pg_connected, 0, __ATOMIC_RELAXED);
			snprintf(s->exe, sizeof(s->exe), "%s", exe);
			metrics_slot = s;
			break;
		}
	}
	return true;
}

void
metrics_close(void)
{
	if (metrics == NULL)
		return;
	/* A forked child never gives back its parent's slot. */
	if (metrics_slot != NULL && metrics_pid == getpid())
		__atomic_store_n(&metrics_slot->pid, 0, __ATOMIC_RELEASE);
	munmap(metrics, sizeof(*metrics));
	metrics = NULL;
	metrics_slot = NULL;
}

/* The label of route index r. */
static const char *
metrics_route_name(size_t r)
{
	return r < ROUTE_COUNT ? route_table[r].template : "other";
}

void
metrics_request(const struct route *r, int status, const char *source,
    int64_t micros)
{
	size_t	 route = r != NULL ? (size_t)(r - route_table) : ROUTE_OTHER;
	size_t	 st = METRICS_NSTATUS - 1, so = SOURCE_NONE, b = 0;

	if (metrics == NULL || route > ROUTE_OTHER)
		return;
	for (size_t i = 0; i < METRICS_NSTATUS - 1; i++)
		if (metrics_statuses[i] == status) {
			st = i;
			break;
		}
	for (size_t i = 0; source != NULL && i < SOURCE_NONE; i++)
		if (strcmp(metrics_sources[i], source) == 0) {
			so = i;
			break;
		}
	while (b < METRICS_NBUCKET - 1 && micros > metrics_buckets_us[b])
		b++;
	ADD(metrics->requests[route][st][so], 1);
	ADD(metrics->duration[route][b], 1);
	ADD(metrics->duration_sum_us[route], (uint64_t)(micros > 0 ? micros : 0));
}

void
metrics_cache(bool hit)
{
	if (metrics == NULL)
		return;
	if (hit)
		ADD(metrics->cache_hits, 1);
	else
		ADD(metrics->cache_misses, 1);
}

void
metrics_pg_query(enum db_stmt stmt)
{
	if (metrics != NULL && (unsigned)stmt < DB_STMT__MAX)
		ADD(metrics->pg_queries[metrics_engine][stmt], 1);
}

void
metrics_pg_connect(enum db_status st)
{
	if (metrics == NULL || (unsigned)st >= DB_STATUS__MAX)
		return;
	if (st != DB_OK) {
		ADD(metrics->pg_connect_failures[metrics_engine][st], 1);
		return;
	}
	ADD(metrics->pg_connects[metrics_engine], 1);
	if (metrics_slot != NULL)
		__atomic_store_n(&metrics_slot->pg_connected, 1,
		    __ATOMIC_RELAXED);
}

void
metrics_pg_disconnect(void)
{
	if (metrics_slot != NULL)
		__atomic_store_n(&metrics_slot->pg_connected, 0,
		    __ATOMIC_RELAXED);
}

void
metrics_provider(enum metrics_provider_call call, enum provider_status st)
{
	if (metrics != NULL && (unsigned)call < METRICS_CALL__MAX &&
	    (unsigned)st < PROVIDER__MAX)
		ADD(metrics->provider_calls[call][st], 1);
}

void
metrics_download(enum download_status st)
{
	if (metrics != NULL && (unsigned)st < DOWNLOAD__MAX)
		ADD(metrics->downloads[st], 1);
}

/* A growing text buffer; a failed append marks it failed. */
struct metrics_text {
	char	*buf;
	size_t	 len, cap;
	bool	 failed;
};

static void __attribute__((format(printf, 2, 3)))
metrics_printf(struct metrics_text *t, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t	 cap = t->cap * 2 + (size_t)n;
		char	*p = realloc(t->buf, cap);

		if (p == NULL) {
			t->failed = true;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
}

static void
metrics_head(struct metrics_text *t, const char *name, const char *type,
    const char *help)
{
	metrics_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
metrics_render_requests(struct metrics_text *t)
{
	metrics_head(t, "fpl_requests_total", "counter",
	    "Requests answered, by route, status and answer source.");
	for (size_t r = 0; r < METRICS_NROUTE; r++)
		for (size_t s = 0; s < METRICS_NSTATUS; s++)
			for (size_t o = 0; o < METRICS_NSOURCE; o++) {
				uint64_t n = LOAD(metrics->requests[r][s][o]);
				char status[8];

				if (n == 0)
					continue;
				if (s < METRICS_NSTATUS - 1)
					snprintf(status, sizeof(status), "%d",
					    metrics_statuses[s]);
				else
					snprintf(status, sizeof(status), "other");
				metrics_printf(t, "fpl_requests_total{route=\"%s\","
				    "status=\"%s\",source=\"%s\"} %llu\n",
				    metrics_route_name(r), status, metrics_sources[o],
				    (unsigned long long)n);
			}
	metrics_head(t, "fpl_request_duration_seconds", "histogram",
	    "Time from a request's arrival at the worker to its answer.");
	for (size_t r = 0; r < METRICS_NROUTE; r++) {
		uint64_t	 cum = 0;

		for (size_t b = 0; b < METRICS_NBUCKET; b++)
			cum += LOAD(metrics->duration[r][b]);
		if (cum == 0)
			continue;
		cum = 0;
		for (size_t b = 0; b < METRICS_NBUCKET; b++) {
			cum += LOAD(metrics->duration[r][b]);
			if (b < METRICS_NBUCKET - 1)
				metrics_printf(t, "fpl_request_duration_seconds_"
				    "bucket{route=\"%s\",le=\"%g\"} %llu\n",
				    metrics_route_name(r),
				    (double)metrics_buckets_us[b] / 1e6,
				    (unsigned long long)cum);
			else
				metrics_printf(t, "fpl_request_duration_seconds_"
				    "bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
				    metrics_route_name(r), (unsigned long long)cum);
		}
		metrics_printf(t, "fpl_request_duration_seconds_sum{route=\"%s\"}"
		    " %.6f\nfpl_request_duration_seconds_count{route=\"%s\"} "
		    "%llu\n", metrics_route_name(r),
		    (double)LOAD(metrics->duration_sum_us[r]) / 1e6,
		    metrics_route_name(r), (unsigned long long)cum);
	}
}

/* The executables of fpl_workers (the engine is a name of its own). */
static const char *const metrics_exes[] = { "personas", "idle-video",
    "video-complete", "engine" };
#define METRICS_NEXE	(sizeof(metrics_exes) / sizeof(metrics_exes[0]))

/* What the live processes' slots say: connections held, processes by exe. */
struct metrics_live {
	unsigned	 connections;
	unsigned	 workers[METRICS_NEXE];
};

/* One pass over the slots, skipping those whose process has gone. */
static void
metrics_live(struct metrics_live *live)
{
	memset(live, 0, sizeof(*live));
	for (size_t i = 0; i < METRICS_SLOTS; i++) {
		const struct metrics_slot *s = &metrics->slots[i];
		int32_t pid = LOAD(s->pid);

		if (pid == 0 || metrics_gone(pid))
			continue;
		if (LOAD(s->pg_connected))
			live->connections++;
		for (size_t x = 0; x < METRICS_NEXE; x++)
			if (strncmp(s->exe, metrics_exes[x], sizeof(s->exe)) == 0)
				live->workers[x]++;
	}
}

/* The requests answered with source so, all routes and statuses. */
static uint64_t
metrics_answered(enum metrics_source so)
{
	uint64_t	 n = 0;

	for (size_t r = 0; r < METRICS_NROUTE; r++)
		for (size_t s = 0; s < METRICS_NSTATUS; s++)
			n += LOAD(metrics->requests[r][s][so]);
	return n;
}

static void
metrics_render_pg(struct metrics_text *t, const struct metrics_live *live)
{
	static const char *const process[2] = { "worker", "engine" };

	metrics_head(t, "fpl_pg_queries_total", "counter",
	    "Statements sent to PostgreSQL, by statement and process kind.");
	for (int e = 0; e < 2; e++)
		for (int s = 0; s < DB_STMT__MAX; s++) {
			uint64_t n = LOAD(metrics->pg_queries[e][s]);

			if (n != 0)
				metrics_printf(t, "fpl_pg_queries_total{statement="
				    "\"%s\",process=\"%s\"} %llu\n",
				    db_stmt_name((enum db_stmt)s), process[e],
				    (unsigned long long)n);
		}
	metrics_head(t, "fpl_pg_connects_total", "counter",
	    "PostgreSQL connections opened.");
	for (int e = 0; e < 2; e++)
		metrics_printf(t, "fpl_pg_connects_total{process=\"%s\"} %llu\n",
		    process[e], (unsigned long long)LOAD(metrics->pg_connects[e]));
	metrics_head(t, "fpl_pg_connect_failures_total", "counter",
	    "PostgreSQL connections that could not be opened, by reason.");
	for (int e = 0; e < 2; e++)
		for (int s = 1; s < DB_STATUS__MAX; s++) {
			uint64_t n = LOAD(metrics->pg_connect_failures[e][s]);

			if (n != 0)
				metrics_printf(t, "fpl_pg_connect_failures_total"
				    "{reason=\"%s\",process=\"%s\"} %llu\n",
				    db_status_reason((enum db_status)s),
				    process[e], (unsigned long long)n);
		}
	metrics_head(t, "fpl_pg_connections", "gauge",
	    "PostgreSQL connections held now by the live processes.");
	metrics_printf(t, "fpl_pg_connections %u\n", live->connections);
}

static void
metrics_render_rest(struct metrics_text *t, const struct metrics_live *live,
    int pending, int dead)
{
	metrics_head(t, "fpl_cache_hits_total", "counter",
	    "Idle-video requests answered from the SQLite cache.");
	metrics_printf(t, "fpl_cache_hits_total %llu\n",
	    (unsigned long long)LOAD(metrics->cache_hits));
	metrics_head(t, "fpl_cache_misses_total", "counter",
	    "Idle-video requests the SQLite cache could not answer.");
	metrics_printf(t, "fpl_cache_misses_total %llu\n",
	    (unsigned long long)LOAD(metrics->cache_misses));
	/* Read off the requests: only the quick check answers so. */
	metrics_head(t, "fpl_quick_checks_total", "counter",
	    "Requests answered by the quick check.");
	metrics_printf(t, "fpl_quick_checks_total %llu\n",
	    (unsigned long long)metrics_answered(SOURCE_QUICK_CHECK));
	if (pending >= 0) {
		metrics_head(t, "fpl_outbox_pending", "gauge",
		    "Accepted webhook events not yet applied.");
		metrics_printf(t, "fpl_outbox_pending %d\n", pending);
		metrics_head(t, "fpl_outbox_dead", "gauge",
		    "Events given up after their attempts (dead letters).");
		metrics_printf(t, "fpl_outbox_dead %d\n", dead);
	}
	metrics_head(t, "fpl_provider_calls_total", "counter",
	    "Calls to the video provider's API, by call and result.");
	for (int c = 0; c < METRICS_CALL__MAX; c++)
		for (int s = 0; s < PROVIDER__MAX; s++) {
			uint64_t n = LOAD(metrics->provider_calls[c][s]);

			if (n != 0)
				metrics_printf(t, "fpl_provider_calls_total{call="
				    "\"%s\",result=\"%s\"} %llu\n", metrics_calls[c],
				    provider_status_name((enum provider_status)s),
				    (unsigned long long)n);
		}
	metrics_head(t, "fpl_downloads_total", "counter",
	    "Copies of finished videos, by result.");
	for (int s = 0; s < DOWNLOAD__MAX; s++) {
		uint64_t n = LOAD(metrics->downloads[s]);

		if (n != 0)
			metrics_printf(t, "fpl_downloads_total{result=\"%s\"} "
			    "%llu\n", download_status_str((enum download_status)s),
			    (unsigned long long)n);
	}
	metrics_head(t, "fpl_workers", "gauge",
	    "Live processes of each executable, and the engine.");
	for (size_t x = 0; x < METRICS_NEXE; x++)
		metrics_printf(t, "fpl_workers{exe=\"%s\"} %u\n", metrics_exes[x],
		    live->workers[x]);
}

bool
metrics_render(char **out, size_t *outlen, int outbox_pending,
    int outbox_dead)
{
	struct metrics_text	 t = { NULL, 0, 0, false };
	struct metrics_live	 live;

	*out = NULL;
	*outlen = 0;
	if (metrics == NULL || (t.buf = malloc(t.cap = 16384)) == NULL)
		return false;
	metrics_live(&live);
	metrics_render_requests(&t);
	metrics_render_pg(&t, &live);
	metrics_render_rest(&t, &live, outbox_pending, outbox_dead);
	if (t.failed) {
		free(t.buf);
		return false;
	}
	*out = t.buf;
	*outlen = t.len;
	return true;
}
