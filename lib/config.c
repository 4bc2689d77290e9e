/*
 * config.c: the table of settings, their types, bounds and defaults.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "valid.h"

enum config_type {
	CONFIG_STR,
	CONFIG_INT,
	CONFIG_BOOL,
	CONFIG_LONG,
};

struct config_entry {
	const char		*name;		/* environment variable */
	enum config_type	 type;
	size_t			 offset;	/* into struct config */
	const char		*def;		/* default, as text */
	long			 min, max;	/* bounds of CONFIG_INT */
};

#define OFF(f)	offsetof(struct config, f)

static const struct config_entry config_table[] = {
	{ "DATABASE_URL", CONFIG_STR, OFF(database_url),
	  "host=/run/postgresql dbname=app user=app", 0, 0 },
	{ "ENGINE_DATABASE_URL", CONFIG_STR, OFF(engine_database_url), "", 0, 0 },
	{ "CACHE_PATH", CONFIG_STR, OFF(cache_path), "var/cache/cache.sqlite", 0, 0 },
	{ "CACHE_URLS", CONFIG_BOOL, OFF(cache_urls), "1", 0, 0 },
	{ "CACHE_SESSIONS", CONFIG_BOOL, OFF(cache_sessions), "1", 0, 0 },
	{ "SESSION_TTL_S", CONFIG_INT, OFF(session_ttl_s), "60", 1, 86400 },
	{ "PG_CONNECT_TIMEOUT_MS", CONFIG_INT, OFF(pg_connect_timeout_ms),
	  "2000", 50, 60000 },
	{ "PG_STATEMENT_TIMEOUT_MS", CONFIG_INT, OFF(pg_statement_timeout_ms),
	  "5000", 50, 600000 },
	{ "PG_IDLE_TIMEOUT_S", CONFIG_INT, OFF(pg_idle_timeout_s), "20", 1, 86400 },
	{ "CACHE_BUSY_TIMEOUT_MS", CONFIG_INT, OFF(cache_busy_timeout_ms),
	  "2000", 0, 60000 },
	{ "LOG_LEVEL", CONFIG_STR, OFF(log_level), "info", 0, 0 },
	{ "PUBLIC_BASE_URL", CONFIG_STR, OFF(public_base_url),
	  "http://127.0.0.1:8088", 0, 0 },
	{ "MEDIA_DIR", CONFIG_STR, OFF(media_dir), "var/media", 0, 0 },
	{ "WEBHOOK_SECRET", CONFIG_STR, OFF(webhook_secret), "", 0, 0 },
	{ "PROVIDER_URL", CONFIG_STR, OFF(provider_url), "http://127.0.0.1:8089", 0, 0 },
	{ "PROVIDER_TOKEN", CONFIG_STR, OFF(provider_token), "", 0, 0 },
	{ "PROVIDER_TIMEOUT_MS", CONFIG_INT, OFF(provider_timeout_ms),
	  "5000", 100, 120000 },
	{ "RECONCILE_AFTER_S", CONFIG_INT, OFF(reconcile_after_s), "90", 1, 86400 },
	{ "VIDEO_MAX_BYTES", CONFIG_LONG, OFF(video_max_bytes), "52428800",
	  1024, 1L << 32 },
	{ "OUTBOX_PATH", CONFIG_STR, OFF(outbox_path),
	  "var/state/outbox.sqlite", 0, 0 },
	{ "OUTBOX_MAX_ATTEMPTS", CONFIG_INT, OFF(outbox_max_attempts), "12",
	  1, 1000 },
	{ "JOB_START_TIMEOUT_S", CONFIG_INT, OFF(job_start_timeout_s), "60",
	  1, 86400 },
	{ "JOB_MAX_AGE_S", CONFIG_INT, OFF(job_max_age_s), "3600", 1, 604800 },
	{ "GENERATIONS_PER_HOUR", CONFIG_INT, OFF(generations_per_hour), "20",
	  1, 1000000 },
	{ "PROVIDER_MEDIA_HOSTS", CONFIG_STR, OFF(provider_media_hosts), "", 0, 0 },
	{ "DOWNLOAD_DIR", CONFIG_STR, OFF(download_dir), "var/state/downloads",
	  0, 0 },
	{ "DOWNLOAD_CONNECT_TIMEOUT_MS", CONFIG_INT,
	  OFF(download_connect_timeout_ms), "3000", 50, 60000 },
	{ "DOWNLOAD_TIMEOUT_S", CONFIG_INT, OFF(download_timeout_s), "600",
	  1, 86400 },
	{ "DOWNLOAD_LOW_SPEED_BPS", CONFIG_INT, OFF(download_low_speed_bps),
	  "16384", 1, 1 << 30 },
	{ "DOWNLOAD_LOW_SPEED_S", CONFIG_INT, OFF(download_low_speed_s), "10",
	  1, 3600 },
	{ "MEDIA_MIN_FREE_MB", CONFIG_INT, OFF(media_min_free_mb), "64",
	  0, 1 << 20 },
	{ "ENGINE_POLL_MS", CONFIG_INT, OFF(engine_poll_ms), "200", 10, 60000 },
};

bool
config_load(struct config *cfg, char *err, size_t errsz)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(config_table) / sizeof(config_table[0]); i++) {
		const struct config_entry *e = &config_table[i];
		const char	*v = getenv(e->name);
		char		*field = (char *)cfg + e->offset;
		long long	 n;

		if (v == NULL || *v == '\0')
			v = e->def;
		switch (e->type) {
		case CONFIG_STR:
			*(const char **)(void *)field = v;
			break;
		case CONFIG_INT:
		case CONFIG_LONG:
			if (!valid_int(v, e->min, e->max, &n)) {
				snprintf(err, errsz, "%s: not an integer in "
				    "%ld..%ld: %s", e->name, e->min, e->max, v);
				return false;
			}
			if (e->type == CONFIG_INT)
				*(int *)(void *)field = (int)n;
			else
				*(long *)(void *)field = (long)n;
			break;
		case CONFIG_BOOL:
			if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
				*(bool *)(void *)field = true;
			else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
				*(bool *)(void *)field = false;
			else {
				snprintf(err, errsz, "%s: not 0, 1, true or "
				    "false: %s", e->name, v);
				return false;
			}
			break;
		}
	}
	return true;
}
