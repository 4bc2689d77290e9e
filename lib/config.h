/*
 * config.h: run-time settings, read once from the environment at start-up.
 *
 * libfcgi replaces environ with each request's parameters inside the accept
 * loop, so the settings must be read before the first accept. Every setting
 * has a default that works with scripts/stack; see README.md for the list.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "attr.h"

struct config {
	const char	*database_url;		/* libpq conninfo or URI */
	const char	*engine_database_url;	/* the engine's; "" = the same */
	const char	*cache_path;		/* the shared SQLite file */
	bool		 cache_urls;		/* URL + job cache on */
	bool		 cache_sessions;	/* session cache on */
	int		 session_ttl_s;		/* a cached session's life */
	int		 pg_connect_timeout_ms;	/* bound on a connect */
	int		 pg_statement_timeout_ms; /* bound on a query */
	int		 pg_idle_timeout_s;	/* close an idle connection */
	int		 cache_busy_timeout_ms;	/* SQLite busy handler */
	const char	*log_level;		/* debug, info, warn, error */
	const char	*public_base_url;	/* how clients reach us */
	const char	*media_dir;		/* our video storage */
	const char	*webhook_secret;	/* whsec_... */
	const char	*provider_url;		/* predictions API */
	const char	*provider_token;	/* its bearer token */
	int		 provider_timeout_ms;	/* bound on one provider call */
	int		 reconcile_after_s;	/* ask the provider after this */
	long		 video_max_bytes;	/* bound on a copied video */
	const char	*outbox_path;		/* the durable outbox file */
	int		 outbox_max_attempts;	/* then an event is dead */
	int		 job_start_timeout_s;	/* starting, no prediction */
	int		 job_max_age_s;		/* no news from the provider */
	int		 generations_per_hour;	/* per user */
	const char	*provider_media_hosts;	/* host[:port],... "" = API's */
	const char	*download_dir;		/* temporary copies, not served */
	int		 download_connect_timeout_ms;
	int		 download_timeout_s;	/* a whole copy */
	int		 download_low_speed_bps; /* slower than this ... */
	int		 download_low_speed_s;	/* ... for this long: given up */
	int		 media_min_free_mb;	/* no copy below this */
	int		 engine_poll_ms;	/* the engine looks this often */
};

/*
 * Fills cfg from the environment (getenv), strings pointing into it.
 * Writes a message to err and returns false when a value is malformed
 * (a number out of range, a boolean that is not 0/1/true/false).
 */
bool	config_load(struct config *cfg, char *err, size_t errsz)
	    MUSTCHECK;

#endif /* CONFIG_H */
