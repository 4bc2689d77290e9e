/*
 * provider.h: the client of the video provider, a Replicate-compatible
 * predictions API, over libcurl. Every call is bounded by the connect and
 * total timeouts given to provider_new(); nothing follows redirects.
 * Copying the output videos is download.h's business.
 */
#ifndef PROVIDER_H
#define PROVIDER_H

#include <stdbool.h>

#include "attr.h"
#include "prediction.h"

enum provider_status {
	PROVIDER_OK = 0,
	PROVIDER_UNAVAILABLE,	/* no connection, timeout, or 5xx */
	PROVIDER_REFUSED,	/* a 4xx: our request or token is wrong */
	PROVIDER_BAD_ANSWER,	/* an answer we cannot use */
	PROVIDER__MAX
};

struct provider;

/*
 * A client of the API at base_url (e.g. "http://127.0.0.1:8089"), sending
 * token as bearer. Strings are copied. NULL when out of memory or
 * base_url is not an http(s) URL.
 */
struct provider	*provider_new(const char *base_url, const char *token,
		    int connect_timeout_ms, int timeout_ms);
void		 provider_free(struct provider *);

const char	*provider_status_name(enum provider_status);

/*
 * Creates a prediction for a persona's idle video, with the webhook at
 * webhook_url for the "start" and "completed" events. Fills out.
 */
enum provider_status provider_create(struct provider *, const char *persona_id,
    const char *webhook_url, struct prediction *out)
    MUSTCHECK;

/* Reads a prediction's current state (for reconciliation). */
enum provider_status provider_get(struct provider *, const char *prediction_id,
    struct prediction *out) MUSTCHECK;

/*
 * Asks the provider to cancel a prediction; out is its state as answered
 * (usually "canceled", or its final state when it had already ended).
 */
enum provider_status provider_cancel(struct provider *, const char *prediction_id,
    struct prediction *out) MUSTCHECK;

#endif /* PROVIDER_H */
