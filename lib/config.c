/*
 * config.c: the table of settings, their types, bounds and defaults, and
 * the settings file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "valid.h"

enum config_type {
	CONFIG_STR,
	CONFIG_INT,
	CONFIG_BOOL,
	CONFIG_LONG,
	CONFIG_CHOICE,		/* one of choices: its index, as an int */
};

struct config_entry {
	const char		*name;		/* environment variable */
	enum config_type	 type;
	size_t			 offset;	/* into struct config */
	const char		*def;		/* default, as text */
	long			 min, max;	/* bounds of CONFIG_INT; of a
						   CONFIG_CHOICE, min is its
						   list in config_choices */
};

/* PG_PREPARE's values, in the order of enum db_prepare (db.h). */
static const char *const config_prepare[] = { "auto", "on", "off", NULL };

/* The values of each CONFIG_CHOICE, NULL-ended lists. */
static const char *const *const config_choices[] = {
	config_prepare,		/* 0: PG_PREPARE */
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
	{ "PG_PREPARE", CONFIG_CHOICE, OFF(pg_prepare), "auto", 0, 0 },
	{ "CACHE_BUSY_TIMEOUT_MS", CONFIG_INT, OFF(cache_busy_timeout_ms),
	  "2000", 0, 60000 },
	{ "LOG_LEVEL", CONFIG_STR, OFF(log_level), "info", 0, 0 },
	{ "LOG_PATH", CONFIG_STR, OFF(log_path), "", 0, 0 },
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
	{ "METRICS_PATH", CONFIG_STR, OFF(metrics_path), "", 0, 0 },
	{ "METRICS_TOKEN", CONFIG_STR, OFF(metrics_token), "", 0, 0 },
	{ "METRICS_ALLOW_LOOPBACK", CONFIG_BOOL, OFF(metrics_allow_loopback),
	  "0", 0, 0 },
};

#define CONFIG_NENTRIES	(sizeof(config_table) / sizeof(config_table[0]))

/* The settings file read, for the start-up log line. */
static char	 config_file_used[PATH_MAX];

/*
 * Whether a file may set key (len bytes): a setting of the table, or one
 * of libpq's own (PG..., e.g. PGPASSFILE), which it reads from the
 * environment.
 */
static bool
config_file_key(const char *key, size_t len)
{
	for (size_t i = 0; i < CONFIG_NENTRIES; i++)
		if (strlen(config_table[i].name) == len &&
		    memcmp(config_table[i].name, key, len) == 0)
			return true;
	if (len > 2 && memcmp(key, "PG", 2) == 0) {
		for (size_t i = 2; i < len; i++)
			if ((key[i] < 'A' || key[i] > 'Z') && key[i] != '_')
				return false;
		return true;
	}
	return false;
}

/* Skips blanks forward from s, and back from *end. */
static char *
config_trim(char *s, char **end)
{
	while (s < *end && (*s == ' ' || *s == '\t'))
		s++;
	while (*end > s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' ||
	    (*end)[-1] == '\r'))
		(*end)--;
	return s;
}

/*
 * Applies the text of a settings file (len bytes, parsed in place; name
 * is for messages) to the environment, where a variable is not set
 * already.
 */
static bool
config_apply_text(const char *name, char *text, size_t len, char *err,
    size_t errsz)
{
	char	*p = text, *end = text + len;
	int	 line = 0;

	while (p < end) {
		char	*eol = memchr(p, '\n', (size_t)(end - p));
		char	*k, *kend, *v, *vend, *eq;

		if (eol == NULL)
			eol = end;
		line++;
		vend = eol;
		k = config_trim(p, &vend);
		p = eol + 1;
		if (k == vend || *k == '#')
			continue;
		if (memchr(k, '\0', (size_t)(vend - k)) != NULL) {
			snprintf(err, errsz, "%s:%d: a NUL byte", name, line);
			return false;
		}
		if ((eq = memchr(k, '=', (size_t)(vend - k))) == NULL) {
			snprintf(err, errsz, "%s:%d: not KEY=value", name, line);
			return false;
		}
		kend = eq;
		k = config_trim(k, &kend);
		if (!config_file_key(k, (size_t)(kend - k))) {
			snprintf(err, errsz, "%s:%d: unknown setting %.*s", name,
			    line, (int)(kend - k > 64 ? 64 : kend - k), k);
			return false;
		}
		v = config_trim(eq + 1, &vend);
		/* One pair of quotes around the value goes, as systemd's. */
		if (vend - v >= 2 && (*v == '"' || *v == '\'') &&
		    vend[-1] == *v) {
			v++;
			vend--;
		}
		/* Both ends are in our copy of the file: cut them there. */
		*kend = '\0';
		*vend = '\0';
		/* The environment wins over the file. */
		if (setenv(k, v, 0) != 0) {
			snprintf(err, errsz, "%s:%d: %s", name, line,
			    strerror(errno));
			return false;
		}
	}
	return true;
}

/*
 * The settings file to read into path: the one FPL_CONFIG names (which
 * must then exist), else CONFIG_FILE_NAME beside the executable, if it is
 * there. Returns false when there is none to read.
 */
static bool
config_file_path(char *path, size_t pathsz)
{
	const char	*named = getenv("FPL_CONFIG");
	char		 exe[PATH_MAX];
	ssize_t		 n;

	if (named != NULL && *named != '\0') {
		snprintf(path, pathsz, "%s", named);	/* cut: not found */
		return true;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return false;
	exe[n] = '\0';
	return (size_t)snprintf(path, pathsz, "%s/%s", dirname(exe),
	    CONFIG_FILE_NAME) < pathsz && access(path, F_OK) == 0;
}

/* Reads the settings file, if there is one, into the environment. */
static bool
config_read_file(char *err, size_t errsz)
{
	char		 path[PATH_MAX], *text = NULL;
	struct stat	 st;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;
	bool		 ok = false;

	config_file_used[0] = '\0';
	if (!config_file_path(path, sizeof(path)))
		return true;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_FILE_MAX) {
		snprintf(err, errsz, "%s: not a regular file of at most %d "
		    "bytes", path, CONFIG_FILE_MAX);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	if (got != (size_t)st.st_size) {
		snprintf(err, errsz, "%s: a short read", path);
		goto out;
	}
	text[got] = '\0';	/* room for cutting the last line */
	if ((ok = config_apply_text(path, text, got, err, errsz)))
		snprintf(config_file_used, sizeof(config_file_used), "%s",
		    path);
out:
	free(text);
	close(fd);
	return ok;
}

/* Says which values a CONFIG_CHOICE takes: "NAME: not auto, on or off: v". */
static void
config_choice_error(const struct config_entry *e, const char *const *choices,
    const char *v, char *err, size_t errsz)
{
	char	 list[128] = "";
	size_t	 n = 0;

	for (size_t i = 0; choices[i] != NULL; i++) {
		int r = snprintf(list + n, sizeof(list) - n, "%s%s", i == 0 ?
		    "" : choices[i + 1] == NULL ? " or " : ", ", choices[i]);

		if (r < 0 || (size_t)r >= sizeof(list) - n)
			break;
		n += (size_t)r;
	}
	snprintf(err, errsz, "%s: not %s: %s", e->name, list, v);
}

bool
config_load(struct config *cfg, char *err, size_t errsz)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!config_read_file(err, errsz))
		return false;
	cfg->settings_file = config_file_used[0] != '\0' ? config_file_used :
	    NULL;
	for (size_t i = 0; i < CONFIG_NENTRIES; i++) {
		const struct config_entry *e = &config_table[i];
		const char	*v = getenv(e->name);
		char		*field = (char *)cfg + e->offset;
		const char *const *choices;
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
		case CONFIG_CHOICE:
			choices = config_choices[e->min];
			for (n = 0; choices[n] != NULL &&
			    strcmp(choices[n], v) != 0; n++)
				;
			if (choices[n] == NULL) {
				config_choice_error(e, choices, v, err, errsz);
				return false;
			}
			*(int *)(void *)field = (int)n;
			break;
		}
	}
	return true;
}
