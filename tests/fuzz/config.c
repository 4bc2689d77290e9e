/*
 * config.c: libFuzzer harness of the configuration values.
 *
 * Every executable reads its settings once with config_load (lib/config.c)
 * from the environment that scripts/stack, systemd or an operator gives
 * it, and app_open then reads LOG_LEVEL with log_level_parse: the two
 * functions fuzzed here. The input is an environment: lines "NAME=VALUE"
 * (a NUL ends a line, as it ends an environment string); each is put into
 * this process's environment for one call and taken out again after it.
 * tests/fuzz/config.dict names every variable.
 *
 * Properties: config_load gives the same answer twice; a refusal names,
 * in err, a variable that the input set (the defaults are all valid); an
 * accepted configuration has every string setting set (never NULL), and
 * its values are the environment's: a string setting points at the value
 * given, a number is the one written (checked for the settings listed in
 * ints[] below, the table's integers with their bounds).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "valid.h"

#define LINES_MAX	16

/*
 * A few integer settings, to check that the number read is the number
 * written, with their bounds as config.c's table has them.
 */
static const struct {
	const char	*name;
	size_t		 offset;
	long long	 min, max;
} ints[] = {
	{ "SESSION_TTL_S", offsetof(struct config, session_ttl_s), 1, 86400 },
	{ "PG_CONNECT_TIMEOUT_MS", offsetof(struct config,
	    pg_connect_timeout_ms), 50, 60000 },
	{ "CACHE_BUSY_TIMEOUT_MS", offsetof(struct config,
	    cache_busy_timeout_ms), 0, 60000 },
	{ "GENERATIONS_PER_HOUR", offsetof(struct config,
	    generations_per_hour), 1, 1000000 },
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-config", LOG_ERROR);
	return 0;
}

/* The value of the last "name=" among the lines, or NULL. */
static const char *
given(char **lines, size_t n, const char *name)
{
	const char	*v = NULL;
	size_t		 len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strncmp(lines[i], name, len) == 0 && lines[i][len] == '=')
			v = lines[i] + len + 1;
	return v;
}

static void
check(const struct config *cfg, char **lines, size_t n)
{
	const char *const strs[] = { cfg->database_url,
	    cfg->engine_database_url, cfg->cache_path, cfg->log_level,
	    cfg->public_base_url, cfg->media_dir, cfg->webhook_secret,
	    cfg->provider_url, cfg->provider_token, cfg->outbox_path,
	    cfg->provider_media_hosts, cfg->download_dir };
	const char	*v;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		FUZZ_CHECK(strs[i] != NULL);
	if ((v = given(lines, n, "CACHE_PATH")) != NULL && *v != '\0')
		FUZZ_CHECK(strcmp(cfg->cache_path, v) == 0);
	if ((v = given(lines, n, "WEBHOOK_SECRET")) != NULL && *v != '\0')
		FUZZ_CHECK(strcmp(cfg->webhook_secret, v) == 0);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		long long	 want;
		int		 got;

		memcpy(&got, (const char *)cfg + ints[i].offset, sizeof(got));
		FUZZ_CHECK(got >= ints[i].min && got <= ints[i].max);
		if ((v = given(lines, n, ints[i].name)) != NULL && *v != '\0') {
			FUZZ_CHECK(valid_int(v, ints[i].min, ints[i].max,
			    &want));
			FUZZ_CHECK(got == want);
		}
	}
	(void)log_level_parse(cfg->log_level);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 f;
	struct config		 a, b;
	char			*lines[LINES_MAX], err[512], err2[512];
	size_t			 n = 0;
	bool			 ok;

	fuzz_fields(data, size, '\n', LINES_MAX, &f);
	/* putenv keeps our strings: nothing piles up in the environment. */
	for (size_t i = 0; i < f.n; i++) {
		char *eq = strchr(f.field[i], '=');

		if (eq == NULL || eq == f.field[i])
			continue;	/* no name: putenv would not take it */
		if (putenv(f.field[i]) != 0)
			abort();
		lines[n++] = f.field[i];
	}

	memset(err, 0, sizeof(err));
	ok = config_load(&a, err, sizeof(err));
	FUZZ_CHECK(config_load(&b, err2, sizeof(err2)) == ok);
	if (ok)
		check(&a, lines, n);
	else {
		bool named = false;

		FUZZ_CHECK(strcmp(err, err2) == 0);
		for (size_t i = 0; i < n && !named; i++) {
			size_t len = strcspn(lines[i], "=");

			named = strncmp(err, lines[i], len) == 0 &&
			    err[len] == ':';
		}
		FUZZ_CHECK(named);
	}

	/* Out again before the strings go. */
	for (size_t i = 0; i < n; i++) {
		char *name = strndup(lines[i], strcspn(lines[i], "="));

		if (name == NULL || unsetenv(name) != 0)
			abort();
		free(name);
	}
	fuzz_fields_free(&f);
	return 0;
}
