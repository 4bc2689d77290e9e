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

struct config {
	const char	*database_url;		/* libpq conninfo or URI */
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
};

/*
 * Fills cfg from the environment (getenv), strings pointing into it.
 * Writes a message to err and returns false when a value is malformed
 * (a number out of range, a boolean that is not 0/1/true/false).
 */
bool	config_load(struct config *cfg, char *err, size_t errsz)
	    __attribute__((warn_unused_result));

#endif /* CONFIG_H */
