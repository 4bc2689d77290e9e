/*
 * provider.c: libcurl client of the predictions API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"
#include "metrics.h"
#include "provider.h"

#define ANSWER_MAX	(64 * 1024)	/* a prediction is a few hundred bytes */

struct provider {
	CURL	*curl;			/* kept, for connection reuse */
	char	*base_url;
	char	*auth_header;		/* "Authorization: Bearer ..." */
	int	 connect_ms;
	int	 timeout_ms;
};

static const char *const provider_names[PROVIDER__MAX] = {
	"ok",			/* PROVIDER_OK */
	"unavailable",		/* PROVIDER_UNAVAILABLE */
	"refused",		/* PROVIDER_REFUSED */
	"bad answer",		/* PROVIDER_BAD_ANSWER */
};

const char *
provider_status_name(enum provider_status s)
{
	return (unsigned)s < PROVIDER__MAX ? provider_names[s] : "unknown";
}

/* Whether url is an http(s) URL with a host. */
static bool
provider_url_ok(const char *url)
{
	CURLU	*u = curl_url();
	char	*scheme = NULL, *host = NULL;
	bool	 ok = false;

	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		ok = true;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

struct provider *
provider_new(const char *base_url, const char *token, int connect_ms,
    int timeout_ms)
{
	struct provider	*p;

	if (!provider_url_ok(base_url))
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->curl = curl_easy_init();
	p->base_url = strdup(base_url);
	if (asprintf(&p->auth_header, "Authorization: Bearer %s", token) < 0)
		p->auth_header = NULL;
	if (p->curl == NULL || p->base_url == NULL || p->auth_header == NULL) {
		provider_free(p);
		return NULL;
	}
	/* No trailing slash, so paths can be appended. */
	for (size_t n = strlen(p->base_url); n > 0 && p->base_url[n - 1] == '/'; n--)
		p->base_url[n - 1] = '\0';
	p->connect_ms = connect_ms;
	p->timeout_ms = timeout_ms;
	return p;
}

void
provider_free(struct provider *p)
{
	if (p == NULL)
		return;
	if (p->curl != NULL)
		curl_easy_cleanup(p->curl);
	if (p->auth_header != NULL)
		memset(p->auth_header, 0, strlen(p->auth_header));
	free(p->auth_header);
	free(p->base_url);
	free(p);
}

struct provider_buf {
	char	*data;
	size_t	 len;
	size_t	 max;
	bool	 overflow;
};

static size_t
provider_collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct provider_buf	*b = arg;
	size_t			 len = size * n;
	char			*d;

	if (b->len + len > b->max) {
		b->overflow = true;
		return 0;	/* aborts the transfer */
	}
	if ((d = realloc(b->data, b->len + len + 1)) == NULL)
		return 0;
	memcpy(d + b->len, ptr, len);
	b->data = d;
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* Options every request gets: bounds, no redirects, http(s) only. */
static void
provider_common(struct provider *p)
{
	curl_easy_reset(p->curl);
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_ms);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(p->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
}

/*
 * Sends a request to the API (body NULL for GET) and parses the
 * prediction it answers.
 */
static enum provider_status
provider_call(struct provider *p, const char *path, const char *body,
    struct prediction *out)
{
	struct curl_slist	*hdrs = NULL;
	struct provider_buf	 buf = { .max = ANSWER_MAX };
	char			 url[2048], err[128];
	long			 code = 0;
	CURLcode		 rc;
	enum provider_status	 st;

	snprintf(url, sizeof(url), "%s%s", p->base_url, path);
	provider_common(p);
	hdrs = curl_slist_append(hdrs, p->auth_header);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, provider_collect);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &buf);
	if (body != NULL)
		curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(p->curl);
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		log_warnx("provider: %s: %s", path, curl_easy_strerror(rc));
		st = buf.overflow ? PROVIDER_BAD_ANSWER : PROVIDER_UNAVAILABLE;
	} else if (code >= 500 || code == 429) {
		log_warnx("provider: %s: HTTP %ld", path, code);
		st = PROVIDER_UNAVAILABLE;
	} else if (code < 200 || code >= 300) {
		log_warnx("provider: %s: HTTP %ld", path, code);
		st = PROVIDER_REFUSED;
	} else if (buf.data == NULL ||
	    !prediction_parse(buf.data, buf.len, out, err, sizeof(err))) {
		log_warnx("provider: %s: %s", path, buf.data == NULL ?
		    "empty answer" : err);
		st = PROVIDER_BAD_ANSWER;
	} else
		st = PROVIDER_OK;
	free(buf.data);
	return st;
}

enum provider_status
provider_create(struct provider *p, const char *persona_id,
    const char *webhook_url, struct prediction *out)
{
	json_object		*req = json_object_new_object();
	json_object		*input = json_object_new_object();
	json_object		*events = json_object_new_array();
	enum provider_status	 st;

	if (req == NULL || input == NULL || events == NULL) {
		json_object_put(req);
		json_object_put(input);
		json_object_put(events);
		return PROVIDER_UNAVAILABLE;
	}
	json_object_object_add(input, "persona_id",
	    json_object_new_string(persona_id));
	json_object_object_add(input, "prompt", json_object_new_string(
	    "a calm idle loop of the persona, looking at the camera"));
	json_object_array_add(events, json_object_new_string("start"));
	json_object_array_add(events, json_object_new_string("completed"));
	json_object_object_add(req, "version",
	    json_object_new_string("idle-video-1"));
	json_object_object_add(req, "input", input);
	json_object_object_add(req, "webhook",
	    json_object_new_string(webhook_url));
	json_object_object_add(req, "webhook_events_filter", events);
	st = provider_call(p, "/v1/predictions",
	    json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE), out);
	json_object_put(req);
	metrics_provider(METRICS_CALL_CREATE, st);
	return st;
}

/* The path of a prediction's resource, or false for an unsafe id. */
static bool
provider_path(char *buf, size_t bufsz, const char *prediction_id,
    const char *suffix)
{
	size_t	 len = strlen(prediction_id);

	if (len == 0 || len >= PREDICTION_ID_MAX ||
	    strspn(prediction_id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != len) {
		log_warnx("provider: refusing prediction id %.*s",
		    (int)(len > 64 ? 64 : len), prediction_id);
		return false;
	}
	snprintf(buf, bufsz, "/v1/predictions/%s%s", prediction_id, suffix);
	return true;
}

enum provider_status
provider_get(struct provider *p, const char *prediction_id,
    struct prediction *out)
{
	char	 path[PREDICTION_ID_MAX + 32];

	enum provider_status st = PROVIDER_REFUSED;

	if (provider_path(path, sizeof(path), prediction_id, ""))
		st = provider_call(p, path, NULL, out);
	metrics_provider(METRICS_CALL_GET, st);
	return st;
}

enum provider_status
provider_cancel(struct provider *p, const char *prediction_id,
    struct prediction *out)
{
	char	 path[PREDICTION_ID_MAX + 32];

	enum provider_status st = PROVIDER_REFUSED;

	if (provider_path(path, sizeof(path), prediction_id, "/cancel"))
		st = provider_call(p, path, "", out);
	metrics_provider(METRICS_CALL_CANCEL, st);
	return st;
}
