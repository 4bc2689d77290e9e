/*
 * config.h: run-time settings, read once at start-up from the environment
 * and from a settings file.
 *
 * The settings must be read before the first request (libfcgi's
 * FCGX_Accept, which we do not use, replaces environ with each request's
 * parameters; a CGI's environment holds its request). Every setting has a
 * default that works with scripts/stack; conf/fcgi-pool-lab.conf.example
 * documents them all.
 *
 * The settings file is for hosts that let nobody set a program's
 * environment (shared hosting: an .htaccess cannot): the path in
 * FPL_CONFIG, else CONFIG_FILE_NAME in the executable's own folder (if
 * there is one). It holds KEY=value lines (blanks around both ignored, one
 * pair of quotes around the value removed, as systemd's EnvironmentFile
 * does), blank lines and # comments; the keys are the environment's
 * (those of the table, and libpq's own PG... such as PGPASSFILE), and a
 * variable set in the environment wins over the file.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "attr.h"

#define CONFIG_FILE_NAME	"fcgi-pool-lab.conf"
#define CONFIG_FILE_MAX		(64 * 1024)

struct config {
	const char	*settings_file;		/* the file read, or NULL */
	const char	*database_url;		/* libpq conninfo or URI */
	const char	*engine_database_url;	/* the engine's; "" = the same */
	const char	*cache_path;		/* the shared SQLite file */
	bool		 cache_urls;		/* URL + job cache on */
	bool		 cache_sessions;	/* session cache on */
	int		 session_ttl_s;		/* a cached session's life */
	int		 pg_connect_timeout_ms;	/* bound on a connect */
	int		 pg_statement_timeout_ms; /* bound on a query */
	int		 pg_idle_timeout_s;	/* close an idle connection */
	int		 pg_prepare;		/* enum db_prepare: auto, on, off */
	int		 cache_busy_timeout_ms;	/* SQLite busy handler */
	const char	*log_level;		/* debug, info, warn, error */
	const char	*log_path;		/* "": standard error */
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
	const char	*metrics_path;		/* "" = metrics.shm by the cache */
	const char	*metrics_token;		/* bearer of GET /api/metrics */
	bool		 metrics_allow_loopback; /* no token from 127.0.0.1 */
};

/*
 * Reads the settings file into the environment (where it does not set a
 * variable already), then fills cfg from the environment (getenv),
 * strings pointing into it. Writes a message to err and returns false
 * when the file cannot be read or has a line that is not a known KEY=value
 * (its name and line number said), or when a value is malformed (a number
 * out of range, a boolean that is not 0/1/true/false).
 */
bool	config_load(struct config *cfg, char *err, size_t errsz)
	    MUSTCHECK;


#endif /* CONFIG_H */
