/*
 * Unit tests of lib/personas.c that need no server: the list's answer,
 * written as text, is byte for byte what json-c wrote from a tree before
 * (API.md's bytes did not change), for pages of every shape (the strings'
 * escaping: test-json-text.c); the memo of warmed pages. The file under test is
 * included, so that its static functions can be reached (lighttpd's
 * habit); results are made with libpq's own PQsetvalue, no server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/personas.c"

/* One row of a page: NULL for SQL NULL. */
struct row {
	const char	*id, *name, *url, *job;
};

/*
 * A result of DB_PERSONAS_LIST's columns, made without a server: n
 * personas, then the session's row (row n).
 */
static PGresult *
page_result(const struct row *rows, int n)
{
	static PGresAttDesc cols[] = {
		{ .name = (char *)"user_id", .format = 0 },
		{ .name = (char *)"expires", .format = 0 },
		{ .name = (char *)"persona_id", .format = 0 },
		{ .name = (char *)"name", .format = 0 },
		{ .name = (char *)"video_url", .format = 0 },
		{ .name = (char *)"job_status", .format = 0 },
	};
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	assert_non_null(res);
	assert_true(PQsetResultAttrs(res, 6, cols));
	for (int i = 0; i <= n; i++) {
		const char *v[6] = { NULL, NULL, NULL, NULL, NULL, NULL };

		if (i < n) {
			v[COL_PERSONA_ID] = rows[i].id;
			v[COL_NAME] = rows[i].name;
			v[COL_VIDEO_URL] = rows[i].url;
			v[COL_JOB_STATUS] = rows[i].job;
		} else {
			v[COL_USER_ID] = "11111111-2222-4333-8444-555555555555";
			v[COL_EXPIRES] = "1796088669";
		}
		for (int c = 0; c < 6; c++)
			assert_true(PQsetvalue(res, i, c, (char *)v[c],
			    v[c] != NULL ? (int)strlen(v[c]) : -1));
	}
	return res;
}

/* The answer as personas_handle built it with json-c until issue 12. */
static char *
jsonc_page(PGresult *res, int shown, const char *next)
{
	json_object	*root = json_object_new_object();
	json_object	*list = json_object_new_array_ext(shown);
	char		*text;

	for (int i = 0; i < shown; i++) {
		const char	*url = personas_text(res, i, COL_VIDEO_URL);
		json_object	*p = json_object_new_object();
		json_object	*v = json_object_new_object();

		json_object_object_add(v, "status", json_object_new_string(
		    video_status_name(video_status_of(url,
		    personas_text(res, i, COL_JOB_STATUS)))));
		json_object_object_add(v, "videoUrl",
		    url != NULL ? json_object_new_string(url) : NULL);
		json_object_object_add(p, "id", json_object_new_string(
		    PQgetvalue(res, i, COL_PERSONA_ID)));
		json_object_object_add(p, "name", json_object_new_string(
		    PQgetvalue(res, i, COL_NAME)));
		json_object_object_add(p, "idleVideo", v);
		json_object_array_add(list, p);
	}
	json_object_object_add(root, "personas", list);
	json_object_object_add(root, "next", next != NULL ?
	    json_object_new_string(next) : NULL);
	text = strdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}

static void
test_personas_answer_pages(void **state)
{
	static const struct row rows[] = {
		{ "0bae9423-e2a2-4124-ac1a-1a2abc06fd49", "Persona 1",
		  "/media/idle/odd \"name\"\\x.mp4", NULL },
		{ "a06381e0-8c6a-4749-87fc-d72a1ac7b2b7",
		  "Quote \" back \\ slash / end", NULL, "starting" },
		{ "283d425c-558c-4e99-95d8-d29dee93510d",
		  "Ctl \x01\x1f tab\t nl\n cr\r bs\b ff\f", NULL, "processing" },
		{ "23f2a47a-6eb2-400b-90f6-e5e5f8ee3a2e",
		  "Unicode \xc3\xa9 \xf0\x9f\x98\x80", NULL, "failed" },
		{ "40ba5456-2a4f-4b1e-b9a8-7286f80a7b93", "x", NULL,
		  "succeeded" },
		{ "96be361d-8d26-4d39-98a6-18591f57b81d", "y", NULL,
		  "aborted" },
		{ "0d80a823-ba41-400d-9aa0-b8cb104b928c", "z", NULL, NULL },
		/* A video makes the job moot (its status is sent all the same). */
		{ "6241bcc8-e481-4988-8d8b-2e5638eb378e", "w", "/m/w.mp4",
		  "processing" },
	};
	const int n = (int)(sizeof(rows) / sizeof(rows[0]));

	(void)state;
	/* Every page length, with and without a next page. */
	for (int shown = 0; shown <= n; shown++)
		for (int more = 0; more <= (shown > 0); more++) {
			PGresult		*res = page_result(rows, n);
			struct http_response	 r;
			const char		*next = more ? PQgetvalue(res,
						    shown - 1, COL_PERSONA_ID) :
						    NULL;
			char			*want = jsonc_page(res, shown,
						    next);

			http_response_init(&r);
			assert_true(personas_answer(&r, res, shown, next));
			assert_int_equal(r.status, 200);
			assert_null(r.body);
			assert_null(r.content_type);	/* JSON's */
			if (r.textlen != strlen(want) ||
			    memcmp(r.text, want, r.textlen) != 0)
				fail_msg("%d shown, next %s:\n%.*s\njson-c:\n%s",
				    shown, next != NULL ? next : "null",
				    (int)r.textlen, r.text, want);
			http_response_free(&r);
			free(want);
			PQclear(res);
		}
}

/* A page's key changes with what it would copy, and only with that. */
static void
test_personas_page_key(void **state)
{
	struct row	 rows[] = {
		{ "0bae9423-e2a2-4124-ac1a-1a2abc06fd49", "A", "/m/1.mp4",
		  NULL },
		{ "a06381e0-8c6a-4749-87fc-d72a1ac7b2b7", "B", NULL, NULL },
	};
	unsigned char	 hash[AUTH_HASH_LEN] = { 1 };
	PGresult	*res = page_result(rows, 2);
	uint64_t	 k = personas_page_key(res, 2, 2, hash);

	(void)state;
	assert_true(k != 0);
	assert_true(personas_page_key(res, 2, 2, hash) == k);
	assert_true(personas_page_key(res, 1, 2, hash) == k);	/* B: no URL */
	assert_true(personas_page_key(res, 2, 1, hash) != k);	/* no session */
	hash[0] = 2;
	assert_true(personas_page_key(res, 2, 2, hash) != k);	/* session */
	hash[0] = 1;
	PQclear(res);
	rows[1].url = "/m/2.mp4";				/* a new video */
	res = page_result(rows, 2);
	assert_true(personas_page_key(res, 2, 2, hash) != k);
	PQclear(res);
	rows[1].url = NULL;
	rows[1].name = "renamed";				/* not copied */
	res = page_result(rows, 2);
	assert_true(personas_page_key(res, 2, 2, hash) == k);
	PQclear(res);
}

/* Fresh until its time; a full memo gives up its stalest entry. */
static void
test_personas_memo(void **state)
{
	(void)state;
	memset(personas_memo, 0, sizeof(personas_memo));
	assert_false(personas_memo_fresh(42, 100));
	personas_memo_put(42, 130);
	assert_true(personas_memo_fresh(42, 100));
	assert_true(personas_memo_fresh(42, 129));
	assert_false(personas_memo_fresh(42, 130));
	personas_memo_put(42, 160);	/* renewed in place */
	assert_true(personas_memo_fresh(42, 150));
	for (uint64_t k = 1; k < PERSONAS_MEMO; k++)
		personas_memo_put(1000 + k, 200 + (int64_t)k);
	assert_true(personas_memo_fresh(42, 150));	/* 16 entries: all in */
	personas_memo_put(7, 300);			/* 42 is the stalest */
	assert_false(personas_memo_fresh(42, 150));
	assert_true(personas_memo_fresh(7, 150));
	assert_true(personas_memo_fresh(1001, 150));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_personas_answer_pages),
		cmocka_unit_test(test_personas_page_key),
		cmocka_unit_test(test_personas_memo),
	};
	return cmocka_run_group_tests_name("personas", tests, NULL, NULL);
}
