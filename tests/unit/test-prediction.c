/* Unit tests of lib/prediction.c: untrusted prediction bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "prediction.h"
#include "valid.h"

static bool
parse(const char *body, struct prediction *p)
{
	char err[128];

	return prediction_parse(body, strlen(body), p, err, sizeof(err));
}

static void
test_prediction_shapes(void **state)
{
	struct prediction p;

	(void)state;
	assert_true(parse("{\"id\":\"abc123\",\"status\":\"succeeded\","
	    "\"output\":\"http://h/files/abc123.mp4\"}", &p));
	assert_string_equal(p.id, "abc123");
	assert_int_equal(p.status, PREDICTION_SUCCEEDED);
	assert_string_equal(p.output, "http://h/files/abc123.mp4");
	/* An array of outputs: the first one. */
	assert_true(parse("{\"id\":\"a\",\"status\":\"succeeded\","
	    "\"output\":[\"http://h/1.mp4\",\"http://h/2.mp4\"]}", &p));
	assert_string_equal(p.output, "http://h/1.mp4");
	assert_true(parse("{\"id\":\"a\",\"status\":\"failed\",\"output\":null,"
	    "\"error\":\"CUDA out of memory\"}", &p));
	assert_int_equal(p.status, PREDICTION_FAILED);
	assert_string_equal(p.error, "CUDA out of memory");
	assert_true(parse("{\"id\":\"a\",\"status\":\"processing\"}", &p));
	assert_false(prediction_is_terminal(p.status));
	/* Unknown statuses are failures, never crashes. */
	assert_true(parse("{\"id\":\"a\",\"status\":\"aborted\"}", &p));
	assert_int_equal(p.status, PREDICTION_UNKNOWN);
	assert_true(prediction_is_terminal(p.status));
	assert_string_equal(prediction_job_status(p.status), "failed");
	assert_string_equal(p.status_text, "aborted");
	/* An error that is an object is kept as text. */
	assert_true(parse("{\"id\":\"a\",\"status\":\"failed\",\"error\":{\"x\":1}}", &p));
	assert_string_equal(p.error, "{\"x\":1}");
}

static void
test_prediction_refusals(void **state)
{
	static const char *const bad[] = {
		"", "null", "[]", "\"x\"", "{}", "{\"id\":\"a\"}",
		"{\"status\":\"succeeded\"}",
		"{\"id\":5,\"status\":\"succeeded\",\"output\":\"http://h/x\"}",
		"{\"id\":\"../../etc\",\"status\":\"failed\"}",
		"{\"id\":\"a b\",\"status\":\"failed\"}",
		"{\"id\":\"a\",\"status\":7}",
		"{\"id\":\"a\",\"status\":\"succeeded\"}",	/* no output */
		"{\"id\":\"a\",\"status\":\"succeeded\",\"output\":[]}",
		"{\"id\":\"a\",\"status\":\"failed\"} trailing",
		"{\"id\":\"a\",\"status\":\"failed\"",
		"{\"id\":\"a\\u0000b\",\"status\":\"failed\"}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		/* What json-c takes but JSON forbids. */
		"{\"id\":\"a\",\"status\":\"failed\"}/* c */",
		"{\"id\":\"a\",/* c */\"status\":\"failed\"}",
		"{\"id\":\"a\",\"status\":\"failed\",\"error\":NaN}",
		"{\"id\":\"a\",\"status\":\"failed\",\"error\":Infinity}",
		"{'id':\"a\",\"status\":\"failed\"}",
		"{\"id\":'a',\"status\":\"failed\"}",
		"{\"id\":\"a\",\"status\":\"failed\",}",
		"{\"id\":\"a\",\"status\":\"failed\",\"error\":\"a\tb\"}",
		/* Bytes that are not UTF-8. */
		"{\"id\":\"a\",\"status\":\"failed\",\"error\":\"x\xffy\"}",
		"{\"id\":\"a\",\"status\":\"failed\",\"error\":\"\xed\xa0\x80!\"}",
	};
	struct prediction p;
	char big[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &p))
			fail_msg("accepted %s", bad[i]);
	snprintf(big, sizeof(big), "{\"id\":\"a\",\"status\":\"succeeded\","
	    "\"output\":\"http://h/%0*d\"}", 3000, 0);
	assert_false(parse(big, &p));	/* output URL too long */
}

/* Provider text reaches PostgreSQL: always whole UTF-8 characters, no NUL. */
static void
test_prediction_text_is_utf8(void **state)
{
	static const struct {
		int		 line;
		const char	*error;		/* the JSON string's inside */
		const char	*want;
	} cases[] = {
		{ __LINE__, "caf\\u00e9", "caf\xc3\xa9" },
		{ __LINE__, "a\\u0000b", "a\xef\xbf\xbd" "b" },
		{ __LINE__, "\\ud83d\\ude00", "\xf0\x9f\x98\x80" },
		{ __LINE__, "x\\udc00y", "x\xef\xbf\xbd" "y" },	/* a lone surrogate */
	};
	struct prediction p;
	char body[4096];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"id\":\"a\",\"status\":\"failed\","
		    "\"error\":\"%s\"}", cases[i].error);
		if (!parse(body, &p))
			fail_msg("line %d: refused", cases[i].line);
		if (strcmp(p.error, cases[i].want) != 0)
			fail_msg("line %d: got \"%s\"", cases[i].line, p.error);
	}

	/* 300 x "é" is 600 bytes: cut between two characters. */
	n = (size_t)snprintf(body, sizeof(body),
	    "{\"id\":\"a\",\"status\":\"failed\",\"error\":\"");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\xc3\xa9");
	snprintf(body + n, sizeof(body) - n, "\"}");
	assert_true(parse(body, &p));
	assert_true(strlen(p.error) <= PREDICTION_ERROR_MAX - 1);
	assert_int_equal(strlen(p.error), PREDICTION_ERROR_MAX - 2);
	assert_true(valid_utf8(p.error, strlen(p.error)));

	/* The same with the escaped form, and in status_text. */
	n = (size_t)snprintf(body, sizeof(body),
	    "{\"id\":\"a\",\"status\":\"");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\\u00e9");
	snprintf(body + n, sizeof(body) - n, "\"}");
	assert_true(parse(body, &p));
	assert_int_equal(p.status, PREDICTION_UNKNOWN);
	assert_int_equal(strlen(p.status_text), sizeof(p.status_text) - 2);
	assert_true(valid_utf8(p.status_text, strlen(p.status_text)));

	/* An output URL that is not UTF-8 is a bad answer, not a copy. */
	assert_false(parse("{\"id\":\"a\",\"status\":\"succeeded\","
	    "\"output\":\"http://h/\xff.mp4\"}", &p));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prediction_shapes),
		cmocka_unit_test(test_prediction_refusals),
		cmocka_unit_test(test_prediction_text_is_utf8),
	};
	return cmocka_run_group_tests_name("prediction", tests, NULL, NULL);
}
