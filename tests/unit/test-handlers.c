/*
 * Unit tests of the handlers (lib/idle_video.c, lib/personas.c) as plain
 * functions, with a real cache file and a PostgreSQL that cannot be
 * reached: whatever the cache answers must need no query at all, and
 * whatever needs PostgreSQL must answer 503 within the connect timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "idle_video.h"
#include "log.h"
#include "personas.h"
#include "route.h"

#define TOKEN	"tokentokentokentokentoken"
#define USER_A	"aaaaaaaa-0000-4000-8000-000000000001"
#define USER_B	"bbbbbbbb-0000-4000-8000-000000000002"
#define MINE	"cccccccc-0000-4000-8000-000000000003"
#define THEIRS	"dddddddd-0000-4000-8000-000000000004"
#define JOBBED	"eeeeeeee-0000-4000-8000-000000000005"
#define NOTHING	"ffffffff-0000-4000-8000-000000000006"

struct fixture {
	char		 dir[64], path[128];
	struct config	 cfg;
	struct app	 app;
	unsigned char	 hash[AUTH_HASH_LEN];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[128];

	snprintf(f->dir, sizeof(f->dir), "/tmp/fpl-handlers-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/cache.sqlite", f->dir);
	unsetenv("CACHE_URLS");
	unsetenv("CACHE_SESSIONS");
	if (!config_load(&f->cfg, err, sizeof(err)))
		return -1;
	f->app.cfg = &f->cfg;
	/* Port 1 on loopback: refused at once. */
	f->app.db = db_new("host=127.0.0.1 port=1 dbname=app user=app",
	    "test", 500, 500, DB_PREPARE_AUTO);
	f->app.cache = cache_open(f->path, 1000);
	if (!auth_hash(TOKEN, strlen(TOKEN), f->hash))
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	db_free(f->app.db);
	cache_close(f->app.cache);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/*
 * Runs a request through the front door (lib/route.c), as the executable
 * whose handler h is; returns the answer's body as text in out.
 */
static int
run(struct fixture *f, app_handler h, enum http_method m, const char *path,
    const char *auth, bool quick, const char *query, char *out, size_t outsz,
    struct http_response *resp)
{
	struct http_request req;

	memset(&req, 0, sizeof(req));
	req.method = m;
	req.method_name = m == HTTP_GET ? "GET" : m == HTTP_POST ? "POST" : "PUT";
	req.path = path;
	req.pathlen = strlen(path);
	req.query = query != NULL ? query : "";
	req.authorization = auth;
	req.quick_check = quick;
	http_response_init(resp);
	route_answer(&f->app, h == personas_handle ? "personas" :
	    h == idle_video_handle ? "idle-video" : "video-complete", &req,
	    resp);
	/* A JSON tree (errors) or JSON text (the video answers). */
	if (resp->text != NULL)
		snprintf(out, outsz, "%.*s", (int)resp->textlen, resp->text);
	else
		snprintf(out, outsz, "%s", resp->body != NULL ?
		    json_object_to_json_string_ext(resp->body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) :
		    "");
	http_response_free(resp);
	return resp->status;
}

#define IV(id)	"/api/personas/" id "/idle-video"

static void
seed_cache(struct fixture *f, int64_t expires)
{
	int64_t now = clock_unix_s();

	assert_true(cache_put_session(f->app.cache, f->hash, USER_A, expires,
	    now + 60));
	assert_true(cache_put_video(f->app.cache, MINE, USER_A, "/media/m.mp4", now));
	assert_true(cache_put_video(f->app.cache, THEIRS, USER_B, "/media/t.mp4", now));
	assert_true(cache_put_job(f->app.cache, JOBBED, USER_A,
	    "99999999-0000-4000-8000-000000000009", "pred1", "processing", now));
}

static void
test_idle_video_authentication_first(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	char body[512];

	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE), NULL,
	    true, NULL, body, sizeof(body), &r), 401);
	assert_non_null(strstr(body, "\"error\":\"unauthorized\""));
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer bad", true, NULL, body, sizeof(body), &r), 401);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV("not-a-uuid"),
	    NULL, false, NULL, body, sizeof(body), &r), 401);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV("not-a-uuid"),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 400);
	assert_non_null(strstr(body, "\"error\":\"bad_request\""));
	assert_int_equal(run(f, idle_video_handle, HTTP_OTHER, IV(MINE),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 405);
	assert_string_equal(r.allow, "GET, POST");
	assert_int_equal(run(f, idle_video_handle, HTTP_GET,
	    "/api/personas/" MINE "/other", "Bearer " TOKEN, false, NULL, body,
	    sizeof(body), &r), 404);
	assert_int_equal(db_queries(f->app.db), 0);
}

static void
test_idle_video_cache_paths_need_no_db(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	char body[512];

	seed_cache(f, clock_unix_s() + 3600);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 200);
	assert_string_equal(body, "{\"status\":\"completed\",\"videoUrl\":"
	    "\"/media/m.mp4\",\"jobId\":null,\"source\":\"cache\"}");
	/*
	 * Another user's cached persona: to a quick check exactly like one
	 * the cache does not hold (unknown), to a plain request a 404.
	 */
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(THEIRS),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 200);
	assert_string_equal(body, "{\"status\":\"unknown\",\"videoUrl\":null,"
	    "\"jobId\":null,\"source\":\"quick-check\"}");
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(THEIRS),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 404);
	assert_non_null(strstr(body, "\"error\":\"not_found\""));
	assert_null(strstr(body, "t.mp4"));
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(JOBBED),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 200);
	assert_string_equal(body, "{\"status\":\"processing\",\"videoUrl\":null,"
	    "\"jobId\":\"99999999-0000-4000-8000-000000000009\",\"source\":\"job\"}");
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(NOTHING),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 200);
	assert_string_equal(body, "{\"status\":\"unknown\",\"videoUrl\":null,"
	    "\"jobId\":null,\"source\":\"quick-check\"}");
	assert_int_equal(db_queries(f->app.db), 0);
}

static void
test_idle_video_quick_check_unknown_token(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	char body[512];

	/* A token the cache does not know yet: unknown, revealing nothing. */
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer someothertokensomeothertoken", true, NULL, body,
	    sizeof(body), &r), 200);
	assert_non_null(strstr(body, "\"status\":\"unknown\""));
	assert_int_equal(db_queries(f->app.db), 0);
}

static void
test_idle_video_expired_session(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	char body[512];

	seed_cache(f, clock_unix_s() - 1);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 401);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 401);
}

static void
test_idle_video_db_down_is_503(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	char body[512];
	int64_t t0 = clock_mono_us();

	seed_cache(f, clock_unix_s() + 3600);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(NOTHING),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 503);
	assert_int_equal(r.retry_after, 1);
	assert_non_null(strstr(body, "\"error\":\"db_unavailable\""));
	assert_true(clock_mono_us() - t0 < 500000);
	/* The cached video is still served. */
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 200);
}

static void
test_idle_video_cache_switched_off(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	char body[512];

	seed_cache(f, clock_unix_s() + 3600);
	f->cfg.cache_urls = false;
	f->cfg.cache_sessions = false;
	/* "before": everything goes to PostgreSQL, which is down here. */
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 503);
}

/*
 * Answers from the worker's memo of the cache still check the session
 * every time: another worker's news (a revoked session, a new URL) and
 * the session's expiry are seen at the next request.
 */
static void
test_idle_video_memo_keeps_authentication(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	struct cache *other = cache_open(f->path, 1000);
	char body[512];
	unsigned long hits;
	int64_t expires = clock_unix_s() + 2;

	seed_cache(f, expires);
	for (int i = 0; i < 2; i++)
		assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
		    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 200);
	hits = cache_memo_hits(f->app.cache);
	assert_true(hits > 0);
	/* Another worker learns of a new video. */
	assert_true(cache_put_video(other, MINE, USER_A, "/media/new.mp4",
	    clock_unix_s()));
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 200);
	assert_non_null(strstr(body, "\"videoUrl\":\"/media/new.mp4\""));
	/* The memo answers again, until the session expires... */
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 200);
	assert_true(cache_memo_hits(f->app.cache) > hits);
	hits = cache_memo_hits(f->app.cache);
	while (clock_unix_s() < expires)
		usleep(50000);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 401);
	assert_non_null(strstr(body, "expired"));
	assert_true(cache_memo_hits(f->app.cache) > hits);
	/* ... or another worker learns that it was revoked. */
	assert_true(cache_put_session(other, f->hash, USER_A,
	    clock_unix_s() + 3600, clock_unix_s() + 60));
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 200);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 200);
	assert_true(cache_forget_session(other, f->hash));
	/* Unknown to the cache: PostgreSQL is asked, and it is down here. */
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 503);
	assert_int_equal(run(f, idle_video_handle, HTTP_GET, IV(MINE),
	    "Bearer " TOKEN, true, NULL, body, sizeof(body), &r), 200);
	assert_non_null(strstr(body, "\"status\":\"unknown\""));
	assert_int_equal(db_queries(f->app.db), 0);
	cache_close(other);
}

static void
test_personas_edges(void **state)
{
	struct fixture *f = *state;
	struct http_response r;
	char body[512];

	assert_int_equal(run(f, personas_handle, HTTP_POST, "/api/personas",
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 405);
	assert_string_equal(r.allow, "GET");
	assert_int_equal(run(f, personas_handle, HTTP_GET, "/api/nothing",
	    "Bearer " TOKEN, false, NULL, body, sizeof(body), &r), 404);
	assert_int_equal(run(f, personas_handle, HTTP_GET, "/api/personas",
	    NULL, false, NULL, body, sizeof(body), &r), 401);
	static const char *const bad[] = { "limit=0", "limit=1001", "limit=x",
	    "limit=5&limit=6", "after=nope", "limit=010", "after=%zz" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (run(f, personas_handle, HTTP_GET, "/api/personas",
		    "Bearer " TOKEN, false, bad[i], body, sizeof(body), &r) != 400)
			fail_msg("query \"%s\" gave %d", bad[i], r.status);
	assert_int_equal(db_queries(f->app.db), 0);
	assert_int_equal(run(f, personas_handle, HTTP_GET, "/api/personas",
	    "Bearer " TOKEN, false, "limit=1000", body, sizeof(body), &r), 503);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle_video_authentication_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_video_cache_paths_need_no_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_video_quick_check_unknown_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_video_expired_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_video_db_down_is_503, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_video_cache_switched_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_video_memo_keeps_authentication, setup, teardown),
		cmocka_unit_test_setup_teardown(test_personas_edges, setup, teardown),
	};
	log_init("test-handlers", LOG_ERROR);
	return cmocka_run_group_tests_name("handlers", tests, NULL, NULL);
}
