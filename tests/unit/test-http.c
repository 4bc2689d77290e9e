/*
 * Unit tests of lib/http.c and lib/video.c (query strings, errors), and of
 * the video answer of lib/app.c as JSON text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "app.h"
#include "http.h"
#include "video.h"

static const struct {
	int		 line;
	const char	*query, *name;
	int		 rc;
	const char	*want;
} query_cases[] = {
	{ __LINE__, "", "limit", 0, NULL },
	{ __LINE__, "limit=5", "limit", 1, "5" },
	{ __LINE__, "a=1&limit=5&b=2", "limit", 1, "5" },
	{ __LINE__, "limits=5", "limit", 0, NULL },
	{ __LINE__, "limit=5&limit=6", "limit", -1, NULL },
	{ __LINE__, "limit", "limit", -1, NULL },
	{ __LINE__, "limit=", "limit", 1, "" },
	{ __LINE__, "after=a%2Db+c", "after", 1, "a-b c" },
	{ __LINE__, "after=%2", "after", -1, NULL },
	{ __LINE__, "after=%zz", "after", -1, NULL },
	{ __LINE__, "after=%00", "after", -1, NULL },
	{ __LINE__, "after=0123456789012345678901234567890123456789", "after", -1, NULL },
	{ __LINE__, "&&limit=7&", "limit", 1, "7" },
};

static void
test_http_query_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(query_cases) / sizeof(query_cases[0]); i++) {
		char out[32] = "untouched";
		int rc = http_query_get(query_cases[i].query,
		    query_cases[i].name, out, sizeof(out));

		if (rc != query_cases[i].rc)
			fail_msg("line %d: rc %d", query_cases[i].line, rc);
		if (rc == 1 && strcmp(out, query_cases[i].want) != 0)
			fail_msg("line %d: got \"%s\"", query_cases[i].line, out);
	}
}

static void
test_http_error_body(void **state)
{
	struct http_response r;
	json_object *v;

	(void)state;
	http_response_init(&r);
	http_error(&r, API_NOT_FOUND, "No such persona.");
	assert_int_equal(r.status, 404);
	assert_true(json_object_object_get_ex(r.body, "error", &v));
	assert_string_equal(json_object_get_string(v), "not_found");
	assert_true(json_object_object_get_ex(r.body, "message", &v));
	assert_string_equal(json_object_get_string(v), "No such persona.");
	http_error(&r, API_DB_UNAVAILABLE, "down");	/* replaces the body */
	assert_int_equal(r.status, 503);
	http_response_free(&r);
	assert_null(r.body);
	assert_string_equal(http_reason(503), "Service Unavailable");
}

/* The answer as the json-c tree that it was, serialised as route.c did. */
static const char *
video_answer_json_c(json_object **o, const char *status, const char *url,
    const char *job_id, const char *source)
{
	*o = json_object_new_object();
	json_object_object_add(*o, "status", json_object_new_string(status));
	json_object_object_add(*o, "videoUrl",
	    url != NULL ? json_object_new_string(url) : NULL);
	json_object_object_add(*o, "jobId",
	    job_id != NULL ? json_object_new_string(job_id) : NULL);
	if (source != NULL)
		json_object_object_add(*o, "source",
		    json_object_new_string(source));
	return json_object_to_json_string_ext(*o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* app_video_answer writes byte for byte what json-c wrote. */
static void
test_video_answer_text(void **state)
{
	char every[256], odd[] = "a\"b\\c/d\be\ff\ng\rh\ti\x01j\x1fk\x7fl\xc3\xa9m";
	static const struct {
		int		 line, code;
		const char	*status, *url, *job, *source;
	} cases[] = {
		{ __LINE__, 200, "completed", "/media/idle/x.mp4", NULL, "cache" },
		{ __LINE__, 200, "unknown", NULL, NULL, "quick-check" },
		{ __LINE__, 200, "processing", NULL, "99999999-0000-4000-8000-000000000009", "job" },
		{ __LINE__, 202, "starting", NULL, "j", NULL },
		{ __LINE__, 200, "completed", "", "", "" },
		{ __LINE__, 200, "completed", NULL, NULL, NULL },
	};

	(void)state;
	for (int i = 1; i < 256; i++)
		every[i - 1] = (char)i;
	every[255] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) + 3; i++) {
		struct http_response r;
		json_object *o;
		const char *status = "completed", *url = NULL, *job = NULL,
		    *source = "db", *want;
		int code = 200;

		if (i < sizeof(cases) / sizeof(cases[0])) {
			code = cases[i].code;
			status = cases[i].status;
			url = cases[i].url;
			job = cases[i].job;
			source = cases[i].source;
		} else if (i == sizeof(cases) / sizeof(cases[0]))
			url = every;
		else if (i == sizeof(cases) / sizeof(cases[0]) + 1)
			url = odd;
		else
			job = odd, source = every, status = odd;
		http_response_init(&r);
		app_video_answer(&r, code, status, url, job, source);
		want = video_answer_json_c(&o, status, url, job, source);
		assert_int_equal(r.status, code);
		assert_null(r.body);
		assert_non_null(r.text);
		if (r.textlen != strlen(want) || memcmp(r.text, want, r.textlen) != 0)
			fail_msg("case %zu (line %d): %.*s, not %s", i,
			    i < sizeof(cases) / sizeof(cases[0]) ? cases[i].line : __LINE__,
			    (int)r.textlen, r.text, want);
		if (source != NULL)
			assert_string_equal(r.source, source);
		json_object_put(o);
		http_response_free(&r);
	}
}

static void
test_video_status_of(void **state)
{
	(void)state;
	assert_int_equal(video_status_of("/media/x.mp4", "failed"), VIDEO_COMPLETED);
	assert_int_equal(video_status_of(NULL, NULL), VIDEO_NOT_STARTED);
	assert_int_equal(video_status_of(NULL, "starting"), VIDEO_STARTING);
	assert_int_equal(video_status_of(NULL, "processing"), VIDEO_PROCESSING);
	assert_int_equal(video_status_of(NULL, "succeeded"), VIDEO_PROCESSING);
	assert_int_equal(video_status_of(NULL, "canceled"), VIDEO_FAILED);
	assert_int_equal(video_status_of(NULL, "aborted"), VIDEO_FAILED);
	assert_string_equal(video_status_name(VIDEO_UNKNOWN), "unknown");
	assert_true(video_job_active("processing"));
	assert_false(video_job_active("succeeded"));
	assert_false(video_job_active(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_query_table),
		cmocka_unit_test(test_http_error_body),
		cmocka_unit_test(test_video_answer_text),
		cmocka_unit_test(test_video_status_of),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
