/*
 * gallery-load: simulated browsers loading the video gallery the way the
 * original page did, and the client's own record of what happened.
 *
 *   gallery-load --url URL [--url URL...] --tokens FILE
 *                [--browsers B] [--galleries G | --duration S]
 *                [--parallel 6] [--timeout-ms 10000] [--quick-check]
 *                [--list-only] [--out FILE.jsonl]
 *
 * Each of the B browsers (one thread, one libcurl multi handle, so its own
 * keep-alive connections, as a browser has) loads the gallery G times, one
 * load after the other, or until S seconds have passed: GET /api/personas?limit=1000,
 * then GET /api/personas/{id}/idle-video for every persona of the answer,
 * all issued at once and sent at most --parallel at a time (Chromium's six
 * connections per host), each aborted --timeout-ms after it was issued
 * (the page's AbortController: the time spent waiting for one of the six
 * connections counts too). Browser i uses URL i mod (number of --url) and
 * the token on line i mod n of FILE (one token per line), sent as
 * "Authorization: Bearer". --quick-check adds "X-Quick-Check: true" to the
 * idle-video requests; --list-only skips them.
 *
 * --out gets one JSON line per request
 *   {"t_ms":..,"browser":b,"gallery":g,"kind":"list"|"video","status":200,
 *    "error":null|"<code>[/<reason>]"|"timeout"|"connect"|"network"|
 *    "non_json","ms":..,"ok":true,"worker":true}
 * and one per gallery load
 *   {"t_ms":..,"browser":b,"gallery":g,"kind":"gallery","ms":..,"ok":true,
 *    "requests":n,"requests_ok":n}
 * where t_ms is when it was issued, from the start of the run. A request is
 * OK when it answered 200 with a JSON object (the list: with a "personas"
 * array); a gallery load is OK when its list and every idle-video request
 * are. "worker" says that the answer came from one of our workers: a 200
 * with a JSON object, or an error body that carries the worker's
 * "requestId" (a front end's own answers, a 503 of lighttpd's with no
 * worker free say, carry none), so that the workers' own count of the
 * requests they answered (fpl_requests_total) can be checked against it.
 * The summary goes to standard output as one JSON document:
 *   {"browsers":B,"galleries":n,"galleries_ok":n,"requests":n,
 *    "requests_ok":n,"answered":n,"worker_answers":n,
 *    "gallery_ms":{"p50":..,"p95":..,"max":..},
 *    "request_ms":{...},"errors":{"<status> <error>":n,...},"wall_s":..}
 * where answered counts the requests that got an HTTP answer (a status),
 * worker_answers those of them that came from a worker.
 * Error keys are "<status> <code>" or "<status> <code>/<reason>" from the
 * JSON error body, "<status> non_json" for any other body, and
 * "0 timeout", "0 connect" or "0 network" when no answer came.
 * Exit status: 0 when it ran (whatever the server answered), 1 on a local
 * failure, 2 on bad arguments.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cli.h"
#include "clock.h"

#define PROG		"gallery-load"
#define BODY_MAX	(4 * 1024 * 1024)	/* longer answers are cut */
#define URLS_MAX	64
#define ERR_MAX		96

enum kind { KIND_LIST, KIND_VIDEO };

/* One finished request. */
struct rec {
	double		 ms;
	int		 status;
	bool		 ok;
	bool		 worker;		/* answered by one of our workers */
	char		 err[ERR_MAX];		/* "" when ok */
};

/* One request of a gallery load, queued or on the wire. */
struct req {
	struct browser	*b;
	CURL		*easy;
	struct curl_slist *hdrs;
	enum kind	 kind;
	char		 url[512];
	int64_t		 issued_us;
	char		*body;
	size_t		 len;
	bool		 truncated;
	bool		 done;
	json_object	*doc;		/* an OK list's parsed answer */
	struct rec	 rec;
};

struct browser {
	int		 id;
	const char	*base;
	const char	*token;
	CURLM		*multi;
	pthread_t	 thread;
	/* Results, for the summary. */
	struct rec	*recs;
	size_t		 nrecs, caprecs;
	double		*gms;		/* gallery load times */
	bool		*gok;
	size_t		 ngal, capgal;
	bool		 failed;	/* a local error stopped it */
};

static struct {
	char		*urls[URLS_MAX];
	int		 nurls;
	char		**tokens;
	size_t		 ntokens;
	int		 browsers;
	long		 galleries;	/* per browser; -1: until the deadline */
	double		 duration_s;	/* 0: none */
	int		 parallel;
	long		 timeout_ms;
	bool		 quick;
	bool		 list_only;
	const char	*out;
} opt = { .browsers = 4, .galleries = -1, .parallel = 6,
	.timeout_ms = 10000 };

static FILE		*out_f;
static pthread_mutex_t	 out_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t		 t0_us;
static int64_t		 deadline_us;	/* 0: none */

static void
usage(void)
{
	fprintf(stderr, "usage: %s --url URL [--url URL...] --tokens FILE "
	    "[--browsers B] [--galleries G | --duration S] [--parallel N] "
	    "[--timeout-ms MS] [--quick-check] [--list-only] "
	    "[--out FILE.jsonl]\n", PROG);
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(1);
	}
	return q;
}

/* Reads one token a line; blank lines and #comments are skipped. */
static void
read_tokens(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	if (f == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		exit(2);
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
		    line[n - 1] == ' '))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		opt.tokens = xrealloc(opt.tokens,
		    (opt.ntokens + 1) * sizeof(*opt.tokens));
		if ((opt.tokens[opt.ntokens++] = strdup(line)) == NULL) {
			fprintf(stderr, "%s: out of memory\n", PROG);
			exit(1);
		}
	}
	free(line);
	fclose(f);
	if (opt.ntokens == 0) {
		fprintf(stderr, "%s: %s holds no token\n", PROG, path);
		exit(2);
	}
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct req	*r = arg;
	size_t		 len = size * n, room;

	room = r->len < BODY_MAX ? BODY_MAX - r->len : 0;
	if (len > room) {
		r->truncated = true;
		len = room;
	}
	if (len > 0) {
		r->body = xrealloc(r->body, r->len + len + 1);
		memcpy(r->body + r->len, data, len);
		r->len += len;
		r->body[r->len] = '\0';
	}
	return size * n;	/* keep reading: a cut body is judged later */
}

/* Writes one JSON object as a line of --out (whole lines, one writer). */
static void
emit(json_object *o)
{
	if (out_f != NULL) {
		pthread_mutex_lock(&out_mu);
		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		    out_f);
		fputc('\n', out_f);
		pthread_mutex_unlock(&out_mu);
	}
	json_object_put(o);
}

/* A number with a fixed count of decimals, written as such. */
static json_object *
jnum(double v, int decimals)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

static void
rec_add(struct browser *b, const struct rec *rec)
{
	if (b->nrecs == b->caprecs) {
		b->caprecs = b->caprecs ? 2 * b->caprecs : 64;
		b->recs = xrealloc(b->recs, b->caprecs * sizeof(*b->recs));
	}
	b->recs[b->nrecs++] = *rec;
}

static void
gallery_add(struct browser *b, double ms, bool ok)
{
	if (b->ngal == b->capgal) {
		b->capgal = b->capgal ? 2 * b->capgal : 16;
		b->gms = xrealloc(b->gms, b->capgal * sizeof(*b->gms));
		b->gok = xrealloc(b->gok, b->capgal * sizeof(*b->gok));
	}
	b->gms[b->ngal] = ms;
	b->gok[b->ngal++] = ok;
}

/*
 * Judges a finished answer: sets rec.status, rec.ok and rec.err, and keeps
 * an OK list's parsed answer in r->doc.
 */
static void
judge(struct req *r, CURLcode cc)
{
	json_object	*doc = NULL, *v;
	long		 status = 0;

	r->rec.ok = false;
	r->rec.worker = false;
	if (cc != CURLE_OK) {
		r->rec.status = 0;
		snprintf(r->rec.err, sizeof(r->rec.err), "%s",
		    cc == CURLE_OPERATION_TIMEDOUT ? "timeout" :
		    cc == CURLE_COULDNT_CONNECT ? "connect" : "network");
		return;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	r->rec.status = (int)status;
	if (r->body != NULL && !r->truncated) {
		json_tokener *tok = json_tokener_new();

		if (tok != NULL) {
			doc = json_tokener_parse_ex(tok, r->body, (int)r->len);
			if (doc != NULL && (json_tokener_get_error(tok) !=
			    json_tokener_success || tok->char_offset !=
			    (int)r->len)) {
				json_object_put(doc);
				doc = NULL;
			}
			json_tokener_free(tok);
		}
	}
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		snprintf(r->rec.err, sizeof(r->rec.err), "non_json");
		return;
	}
	/* Only a worker answers 200 under /api, or names the request. */
	r->rec.worker = status == 200 ||
	    (json_object_object_get_ex(doc, "requestId", &v) &&
	    json_object_is_type(v, json_type_string));
	if (status == 200 && (r->kind == KIND_VIDEO ||
	    (json_object_object_get_ex(doc, "personas", &v) &&
	    json_object_is_type(v, json_type_array)))) {
		r->rec.ok = true;
		r->rec.err[0] = '\0';
		if (r->kind == KIND_LIST)
			r->doc = doc;
		else
			json_object_put(doc);
		return;
	}
	if (json_object_object_get_ex(doc, "error", &v) &&
	    json_object_is_type(v, json_type_string)) {
		json_object *reason;

		if (json_object_object_get_ex(doc, "reason", &reason) &&
		    json_object_is_type(reason, json_type_string))
			snprintf(r->rec.err, sizeof(r->rec.err), "%s/%s",
			    json_object_get_string(v),
			    json_object_get_string(reason));
		else
			snprintf(r->rec.err, sizeof(r->rec.err), "%s",
			    json_object_get_string(v));
	} else
		snprintf(r->rec.err, sizeof(r->rec.err), "%s",
		    status == 200 ? "bad_shape" : "non_json");
	json_object_put(doc);
}

static void
req_record(struct req *r, long gallery)
{
	json_object *o = json_object_new_object();

	rec_add(r->b, &r->rec);
	json_object_object_add(o, "t_ms", jnum(
	    (double)(r->issued_us - t0_us) / 1000.0, 1));
	json_object_object_add(o, "browser", json_object_new_int(r->b->id));
	json_object_object_add(o, "gallery", json_object_new_int64(gallery));
	json_object_object_add(o, "kind", json_object_new_string(
	    r->kind == KIND_LIST ? "list" : "video"));
	json_object_object_add(o, "status", json_object_new_int(r->rec.status));
	json_object_object_add(o, "error", r->rec.ok ? NULL :
	    json_object_new_string(r->rec.err));
	json_object_object_add(o, "ms", jnum(r->rec.ms, 3));
	json_object_object_add(o, "ok", json_object_new_boolean(r->rec.ok));
	json_object_object_add(o, "worker",
	    json_object_new_boolean(r->rec.worker));
	emit(o);
}

static void
req_release(struct req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->b->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	json_object_put(r->doc);
	r->doc = NULL;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Puts r on the wire with what is left of its abort timeout. */
static bool
req_start(struct req *r, int64_t now)
{
	char		 auth[1024];
	long		 left = opt.timeout_ms - (long)((now - r->issued_us) / 1000);

	if ((r->easy = curl_easy_init()) == NULL)
		return false;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->b->token);
	r->hdrs = curl_slist_append(NULL, auth);
	if (r->kind == KIND_VIDEO && opt.quick)
		r->hdrs = curl_slist_append(r->hdrs, "X-Quick-Check: true");
	if (r->hdrs == NULL)
		return false;
	curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, NULL);
	return curl_multi_add_handle(r->b->multi, r->easy) == CURLM_OK;
}

/*
 * Runs a batch of requests issued together: at most --parallel on the
 * wire, the others waiting for a free slot with their abort timer running.
 * Returns false on a local failure.
 */
static bool
run_batch(struct browser *b, struct req *reqs, size_t n, long gallery)
{
	size_t	 next = 0, active = 0, left = n;

	while (left > 0) {
		int64_t		 now = clock_mono_us();
		CURLMsg		*m;
		int		 running, q;
		long		 wait_ms = 100;

		/* Fill the free slots; a request that timed out while it
		 * waited for one is aborted without being sent. */
		while (next < n && active < (size_t)opt.parallel) {
			struct req *r = &reqs[next++];

			if ((now - r->issued_us) / 1000 >= opt.timeout_ms) {
				r->rec.ms = (double)(now - r->issued_us) / 1000.0;
				r->rec.status = 0;
				r->rec.ok = false;
				snprintf(r->rec.err, sizeof(r->rec.err),
				    "timeout");
				r->done = true;
				req_record(r, gallery);
				left--;
				continue;
			}
			if (!req_start(r, now)) {
				fprintf(stderr, "%s: browser %d: cannot start a "
				    "request\n", PROG, b->id);
				return false;
			}
			active++;
		}
		if (curl_multi_perform(b->multi, &running) != CURLM_OK)
			return false;
		while ((m = curl_multi_info_read(b->multi, &q)) != NULL) {
			struct req	*r;
			char		*priv = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    &priv);
			r = (struct req *)(void *)priv;
			r->rec.ms = (double)(clock_mono_us() - r->issued_us) / 1000.0;
			judge(r, m->data.result);
			r->done = true;
			req_record(r, gallery);
			active--;
			left--;
			free(r->body);
			r->body = NULL;
			r->len = 0;
			if (r->easy != NULL) {
				curl_multi_remove_handle(b->multi, r->easy);
				curl_easy_cleanup(r->easy);
				r->easy = NULL;
			}
		}
		if (left == 0)
			break;
		/*
		 * A slot freed by an answer is filled at once: polling first
		 * would wait out wait_ms whenever every request on the wire
		 * had been answered (nothing left to wake the poll).
		 */
		if (next < n && active < (size_t)opt.parallel)
			continue;
		/* Wake for the queue's next abort deadline too. */
		if (next < n) {
			int64_t until = reqs[next].issued_us +
			    opt.timeout_ms * 1000 - clock_mono_us();

			if (until / 1000 < wait_ms)
				wait_ms = until > 0 ? until / 1000 : 0;
		}
		if (curl_multi_poll(b->multi, NULL, 0, (int)wait_ms, NULL) !=
		    CURLM_OK)
			return false;
	}
	return true;
}

/* One gallery load: the list, then every idle video. */
static bool
load_gallery(struct browser *b, long g)
{
	struct req	 list, *videos = NULL;
	int64_t		 start = clock_mono_us();
	json_object	*arr = NULL;
	size_t		 n = 0, nok = 0;
	bool		 ok, local_ok = true;
	json_object	*o;

	memset(&list, 0, sizeof(list));
	list.b = b;
	list.kind = KIND_LIST;
	list.issued_us = start;
	/* As the gallery page asks: every persona in one call. */
	snprintf(list.url, sizeof(list.url), "%s/api/personas?limit=1000",
	    b->base);
	if (!run_batch(b, &list, 1, g)) {
		req_release(&list);
		return false;
	}
	ok = list.rec.ok && list.doc != NULL &&
	    json_object_object_get_ex(list.doc, "personas", &arr);
	nok = ok ? 1 : 0;
	if (ok && !opt.list_only) {
		int64_t issued = clock_mono_us();

		n = json_object_array_length(arr);
		videos = calloc(n > 0 ? n : 1, sizeof(*videos));
		if (videos == NULL) {
			req_release(&list);
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			json_object *p = json_object_array_get_idx(arr, i), *id;
			struct req *r = &videos[i];

			r->b = b;
			r->kind = KIND_VIDEO;
			r->issued_us = issued;
			if (!json_object_object_get_ex(p, "id", &id) ||
			    !json_object_is_type(id, json_type_string)) {
				fprintf(stderr, "%s: a persona without an id\n",
				    PROG);
				local_ok = false;
				break;
			}
			snprintf(r->url, sizeof(r->url),
			    "%s/api/personas/%s/idle-video", b->base,
			    json_object_get_string(id));
		}
		if (local_ok)
			local_ok = run_batch(b, videos, n, g);
		for (size_t i = 0; i < n; i++) {
			if (videos[i].done && videos[i].rec.ok)
				nok++;
			else
				ok = false;
			req_release(&videos[i]);
		}
		free(videos);
	}
	req_release(&list);
	if (!local_ok)
		return false;

	gallery_add(b, (double)(clock_mono_us() - start) / 1000.0, ok);
	o = json_object_new_object();
	json_object_object_add(o, "t_ms", jnum(
	    (double)(start - t0_us) / 1000.0, 1));
	json_object_object_add(o, "browser", json_object_new_int(b->id));
	json_object_object_add(o, "gallery", json_object_new_int64(g));
	json_object_object_add(o, "kind", json_object_new_string("gallery"));
	json_object_object_add(o, "ms", jnum(
	    b->gms[b->ngal - 1], 3));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "requests", json_object_new_int64(
	    (int64_t)(1 + n)));
	json_object_object_add(o, "requests_ok", json_object_new_int64(
	    (int64_t)nok));
	emit(o);
	return true;
}

static void *
browser_main(void *arg)
{
	struct browser *b = arg;

	for (long g = 0; !cli_stop; g++) {
		if (opt.galleries >= 0 && g >= opt.galleries)
			break;
		if (deadline_us > 0 && clock_mono_us() >= deadline_us)
			break;
		if (!load_gallery(b, g)) {
			b->failed = true;
			break;
		}
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles of v (sorted here) as {"p50","p95","max"}. */
static json_object *
percentiles(double *v, size_t n)
{
	json_object	*o = json_object_new_object();
	const int	 ps[] = { 50, 95 };

	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < 2; i++) {
		char	 key[8];
		size_t	 rank = (size_t)ceil(ps[i] / 100.0 * (double)n);

		snprintf(key, sizeof(key), "p%d", ps[i]);
		json_object_object_add(o, key, n == 0 ? NULL :
		    jnum(v[rank > 0 ? rank - 1 : 0], 1));
	}
	json_object_object_add(o, "max", n == 0 ? NULL : jnum(v[n - 1], 1));
	return o;
}

int
main(int argc, char **argv)
{
	struct browser		*bs;
	size_t			 nrec = 0, nrec_ok = 0, ngal = 0, ngal_ok = 0;
	size_t			 nanswered = 0, nworker = 0;
	size_t			 ig = 0, ir = 0;
	double			*gms, *rms;
	json_object		*sum, *errs;
	bool			 failed = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--quick-check") == 0) {
			opt.quick = true;
			continue;
		}
		if (strcmp(a, "--list-only") == 0) {
			opt.list_only = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 ||
		    i + 1 >= argc)
			usage();
		if (strcmp(a, "--url") == 0) {
			const char *u = argv[++i];
			size_t len = strlen(u);

			if (opt.nurls == URLS_MAX || len == 0 || len > 256 ||
			    (strncmp(u, "http://", 7) != 0 &&
			    strncmp(u, "https://", 8) != 0)) {
				fprintf(stderr, "%s: bad --url '%s'\n", PROG, u);
				return 2;
			}
			/* Stored without a trailing slash. */
			opt.urls[opt.nurls] = strndup(u,
			    u[len - 1] == '/' ? len - 1 : len);
			opt.nurls++;
		} else if (strcmp(a, "--tokens") == 0)
			read_tokens(argv[++i]);
		else if (strcmp(a, "--browsers") == 0)
			opt.browsers = (int)cli_long(PROG, a, argv[++i], 1, 2000);
		else if (strcmp(a, "--galleries") == 0)
			opt.galleries = cli_long(PROG, a, argv[++i], 0, 10000000);
		else if (strcmp(a, "--duration") == 0)
			opt.duration_s = (double)cli_long(PROG, a, argv[++i], 1,
			    86400);
		else if (strcmp(a, "--parallel") == 0)
			opt.parallel = (int)cli_long(PROG, a, argv[++i], 1, 256);
		else if (strcmp(a, "--timeout-ms") == 0)
			opt.timeout_ms = cli_long(PROG, a, argv[++i], 1, 3600000);
		else if (strcmp(a, "--out") == 0)
			opt.out = argv[++i];
		else
			usage();
	}
	if (opt.nurls == 0 || opt.tokens == NULL)
		usage();
	if (opt.galleries < 0 && opt.duration_s <= 0)
		opt.galleries = 1;

	if (opt.out != NULL && (out_f = fopen(opt.out, "w")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PROG, opt.out, strerror(errno));
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "%s: curl_global_init failed\n", PROG);
		return 1;
	}
	cli_catch_stop();

	if ((bs = calloc((size_t)opt.browsers, sizeof(*bs))) == NULL)
		return 1;
	t0_us = clock_mono_us();
	if (opt.duration_s > 0)
		deadline_us = t0_us + (int64_t)(opt.duration_s * 1e6);
	for (int i = 0; i < opt.browsers; i++) {
		struct browser *b = &bs[i];

		b->id = i;
		b->base = opt.urls[i % opt.nurls];
		b->token = opt.tokens[(size_t)i % opt.ntokens];
		if ((b->multi = curl_multi_init()) == NULL)
			return 1;
		/* A browser's own connections: six to the host, kept alive. */
		curl_multi_setopt(b->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
		    (long)opt.parallel);
		curl_multi_setopt(b->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
		    (long)opt.parallel);
		curl_multi_setopt(b->multi, CURLMOPT_MAXCONNECTS,
		    (long)opt.parallel);
		if (pthread_create(&b->thread, NULL, browser_main, b) != 0) {
			fprintf(stderr, "%s: cannot start browser %d\n", PROG,
			    i);
			cli_stop = 1;
			opt.browsers = i;
			failed = true;
			break;
		}
	}
	for (int i = 0; i < opt.browsers; i++) {
		pthread_join(bs[i].thread, NULL);
		nrec += bs[i].nrecs;
		ngal += bs[i].ngal;
		failed = failed || bs[i].failed;
	}
	if (out_f != NULL && fclose(out_f) != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, opt.out, strerror(errno));
		failed = true;
	}

	gms = calloc(ngal + 1, sizeof(*gms));
	rms = calloc(nrec + 1, sizeof(*rms));
	sum = json_object_new_object();
	errs = json_object_new_object();
	if (gms == NULL || rms == NULL || sum == NULL || errs == NULL)
		return 1;
	for (int i = 0; i < opt.browsers; i++) {
		struct browser *b = &bs[i];

		for (size_t k = 0; k < b->ngal; k++) {
			gms[ig++] = b->gms[k];
			ngal_ok += b->gok[k];
		}
		for (size_t k = 0; k < b->nrecs; k++) {
			const struct rec *r = &b->recs[k];

			rms[ir++] = r->ms;
			nanswered += r->status != 0;
			nworker += r->worker;
			if (r->ok) {
				nrec_ok++;
				continue;
			}
			{
				char		 key[ERR_MAX + 16];
				json_object	*cnt;

				snprintf(key, sizeof(key), "%d %s", r->status,
				    r->err);
				if (json_object_object_get_ex(errs, key, &cnt))
					json_object_set_int64(cnt,
					    json_object_get_int64(cnt) + 1);
				else
					json_object_object_add(errs, key,
					    json_object_new_int64(1));
			}
		}
	}
	json_object_object_add(sum, "browsers", json_object_new_int(opt.browsers));
	json_object_object_add(sum, "galleries", json_object_new_int64((int64_t)ngal));
	json_object_object_add(sum, "galleries_ok",
	    json_object_new_int64((int64_t)ngal_ok));
	json_object_object_add(sum, "requests", json_object_new_int64((int64_t)nrec));
	json_object_object_add(sum, "requests_ok",
	    json_object_new_int64((int64_t)nrec_ok));
	json_object_object_add(sum, "answered",
	    json_object_new_int64((int64_t)nanswered));
	json_object_object_add(sum, "worker_answers",
	    json_object_new_int64((int64_t)nworker));
	json_object_object_add(sum, "gallery_ms", percentiles(gms, ngal));
	json_object_object_add(sum, "request_ms", percentiles(rms, nrec));
	json_object_object_add(sum, "errors", errs);
	json_object_object_add(sum, "wall_s", jnum(
	    (double)(clock_mono_us() - t0_us) / 1e6, 2));
	puts(json_object_to_json_string_ext(sum, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(sum);

	for (int i = 0; i < opt.browsers; i++) {
		curl_multi_cleanup(bs[i].multi);
		free(bs[i].recs);
		free(bs[i].gms);
		free(bs[i].gok);
	}
	free(bs);
	free(gms);
	free(rms);
	for (size_t i = 0; i < opt.ntokens; i++)
		free(opt.tokens[i]);
	free(opt.tokens);
	for (int i = 0; i < opt.nurls; i++)
		free(opt.urls[i]);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
