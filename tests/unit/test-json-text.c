/*
 * Unit tests of lib/json_text.c: strings written as JSON text are byte for
 * byte what json-c writes (the answers' bytes did not change when the hot
 * paths stopped building json-c trees), for every byte at every place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "json_text.h"

/* json-c's text of a string, as the answers were serialised. */
static const char *
jsonc_string(const char *s, json_object **hold)
{
	*hold = json_object_new_string(s);
	return json_object_to_json_string_ext(*hold, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

/*
 * Every byte from 1 to 255 at every place of strings of 0 to 17 bytes (so
 * that it falls in every lane of the 8-byte words and in the tail):
 * measured and written as json-c writes it.
 */
static void
test_json_text_every_byte(void **state)
{
	char	 s[32], out[256];

	(void)state;
	for (int c = 1; c < 256; c++)
		for (size_t len = 1; len <= 17; len++)
			for (size_t at = 0; at < len; at++) {
				json_object	*o;
				const char	*want;
				size_t		 n;
				char		*end;

				memset(s, 'a' + (int)(len % 26), len);
				s[at] = (char)c;
				s[len] = '\0';
				want = jsonc_string(s, &o);
				n = json_text_len(s, len);
				end = json_text_put(out, s, len);
				*end = '\0';
				if (n != strlen(want) || (size_t)(end - out) != n ||
				    strcmp(out, want) != 0)
					fail_msg("byte %d at %zu of %zu: %s (%zu), "
					    "json-c %s", c, at, len, out, n, want);
				json_object_put(o);
			}
	assert_int_equal(json_text_len("", 0), 2);
}

/* Several special bytes in one word, and long plain runs around them. */
static void
test_json_text_mixed(void **state)
{
	static const char *const cases[] = {
		"",
		"Persona 1",
		"/media/idle/8e453e24-0bea-2302-8e45-3e240bea2302.mp4",
		"\"\\\"\\\"\\\"\\",
		"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x1f",
		"Unicode \xc3\xa9 \xf0\x9f\x98\x80 \xe2\x9c\x93 and a slash /",
		"tab\tnl\ncr\rbs\bff\f quote\" end\\",
		"\x7f\x80\xff\xfe 0123456789abcdef0123456789abcdef",
	};
	char	 out[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object	*o;
		const char	*want = jsonc_string(cases[i], &o);
		char		*end = json_text_put(out, cases[i],
				    strlen(cases[i]));

		*end = '\0';
		if (strcmp(out, want) != 0 || json_text_len(cases[i],
		    strlen(cases[i])) != strlen(want))
			fail_msg("case %zu: %s, json-c %s", i, out, want);
		json_object_put(o);
	}
}

/* A literal is copied as it is, and the end returned. */
static void
test_json_text_lit(void **state)
{
	char	 out[16], *end;

	(void)state;
	end = JSON_TEXT_LIT(out, "null");
	*end = '\0';
	assert_string_equal(out, "null");
	assert_int_equal(end - out, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_text_every_byte),
		cmocka_unit_test(test_json_text_mixed),
		cmocka_unit_test(test_json_text_lit),
	};
	return cmocka_run_group_tests_name("json_text", tests, NULL, NULL);
}
