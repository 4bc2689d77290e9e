/*
 * media_url.c: libFuzzer harness of the output URL check.
 *
 * A succeeded prediction names its video by URL, and the engine copies
 * whatever that URL says only if download_copy's first check lets it:
 * http or https, no userinfo, a host and port on the allow-list
 * (PROVIDER_MEDIA_HOSTS, a configuration value with a syntax of its own)
 * or else those of PROVIDER_URL. That check, download_check_url in
 * lib/download.c, is reached here through download_url_allowed (exported
 * for this harness), which runs it and fetches nothing. The URL is
 * outside input twice over: the provider chose it, and the outbox kept
 * it.
 *
 * Input: up to three lines, PROVIDER_MEDIA_HOSTS, PROVIDER_URL and the
 * output URL (a NUL ends each); the last line is always the URL, and the
 * values missing before it are the local stack's: no allow-list,
 * http://127.0.0.1:8089.
 *
 * Properties: an allowed URL starts with "http:" or "https:" in any case
 * (curl also takes "https:/host", one to three slashes) and carries no
 * "@" before its path (no userinfo to disguise the host); a refused one
 * says why. Which host an entry allows is curl's
 * reading (it normalises hosts: 127.1 is 127.0.0.1), so the harness does
 * not second-guess it; ASan and UBSan watch the list's parsing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "download.h"
#include "fuzz.h"
#include "log.h"

enum { F_HOSTS, F_DEFAULT, F_URL, F__MAX };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-media-url", LOG_ERROR);
	/* As app_open does for the engine. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		abort();
	return 0;
}

/*
 * The authority of a URL as written: after "scheme:" and its slashes
 * (curl takes one to three), up to the path, query or fragment.
 */
static char *
authority_of(const char *url)
{
	const char	*p = strchr(url, ':');

	if (p == NULL)
		return NULL;
	p += 1 + strspn(p + 1, "/");
	return strndup(p, strcspn(p, "/?#"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 f;
	struct download_limits	 lim;
	char			 why[256];
	const char		*url;
	char			*authority;

	fuzz_fields(data, size, '\n', F__MAX, &f);
	memset(&lim, 0, sizeof(lim));
	url = f.field[f.n - 1];
	lim.media_hosts = f.n >= 2 ? f.field[F_HOSTS] : "";
	lim.allowed_default = f.n == 3 ? f.field[F_DEFAULT] :
	    "http://127.0.0.1:8089";
	memset(why, 0, sizeof(why));

	if (!download_url_allowed(url, &lim, why, sizeof(why))) {
		FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)));
		fuzz_fields_free(&f);
		return 0;
	}
	FUZZ_CHECK(strncasecmp(url, "http:", 5) == 0 ||
	    strncasecmp(url, "https:", 6) == 0);
	FUZZ_CHECK((authority = authority_of(url)) != NULL);
	FUZZ_CHECK(strchr(authority, '@') == NULL);
	free(authority);
	fuzz_fields_free(&f);
	return 0;
}
