/*
 * metrics.h: counters that every process of the host adds to, in one
 * shared memory file, summed on read for GET /api/metrics.
 *
 * The file (METRICS_PATH, else metrics.shm beside the cache) is mapped by
 * every worker and the engine; its space is reserved with posix_fallocate
 * when it is made, so that a full disk cannot turn a first touch of a page
 * into SIGBUS. A count is one relaxed atomic add into the mapping: no
 * lock, no system call, no SQLite write on a request's path, and a dead
 * worker's counts stay in the file. Each process also holds a slot (its
 * pid, executable, whether it holds a PostgreSQL connection) for the
 * gauges of what is alive now. Without the file (it cannot be made, or it
 * is of another layout) every count is a no-op and the worker serves on.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "download.h"
#include "provider.h"

struct route;

enum metrics_provider_call {
	METRICS_CALL_CREATE,
	METRICS_CALL_GET,
	METRICS_CALL_CANCEL,
	METRICS_CALL__MAX
};

/*
 * Maps the metrics file at path ("" for metrics.shm beside cache_path,
 * "off" for none), making it if needed, and takes a slot for this process,
 * named exe.
 * Returns false (and counts nothing) when it cannot; says why in the log.
 */
bool	metrics_open(const char *path, const char *cache_path,
	    const char *exe, bool engine);
/* Gives the slot back and unmaps the file. */
void	metrics_close(void);

/*
 * One request answered: its route (an entry of route_table, or NULL for
 * none), status, answer source and duration. The quick checks are read
 * off these counts.
 */
void	metrics_request(const struct route *, int status, const char *source,
	    int64_t micros);
void	metrics_cache(bool hit);	/* an idle-video lookup */
void	metrics_pg_query(enum db_stmt);
void	metrics_pg_connect(enum db_status);	/* DB_OK: opened */
void	metrics_pg_disconnect(void);
void	metrics_provider(enum metrics_provider_call, enum provider_status);
void	metrics_download(enum download_status);

/*
 * Writes the Prometheus text exposition of the host's sums into a new
 * buffer (*out, *outlen; the caller frees it), with the outbox's pending
 * and dead events (-1: unknown). Returns false when out of memory or
 * without the file.
 */
bool	metrics_render(char **out, size_t *outlen, int outbox_pending,
	    int outbox_dead);

#endif /* METRICS_H */
