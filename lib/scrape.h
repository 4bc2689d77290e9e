/*
 * scrape.h: GET /api/metrics, the host's counters for Prometheus.
 *
 * Who may read them: a client that sends METRICS_TOKEN as its bearer
 * token (compared in constant time), or, only where
 * METRICS_ALLOW_LOOPBACK=1, any client on loopback (behind a local proxy
 * every client looks like loopback: off by default). Without a token set
 * and without loopback allowed, the metrics are closed (404, as if there
 * were none). The page is lib/metrics.c's exposition, with the outbox's
 * depth read at the time.
 */
#ifndef SCRAPE_H
#define SCRAPE_H

#include "app.h"

void	scrape_handle(struct app *, const struct http_request *,
	    struct http_response *);

#endif /* SCRAPE_H */
