/* Unit tests of lib/valid.c: strict integers, UUIDs, UTF-8 and JSON. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "valid.h"

static const struct {
	int		 line;
	const char	*in;
	long long	 min, max;
	bool		 ok;
	long long	 want;
} int_cases[] = {
	{ __LINE__, "0", 0, 10, true, 0 },
	{ __LINE__, "10", 0, 10, true, 10 },
	{ __LINE__, "11", 0, 10, false, 0 },
	{ __LINE__, "-1", -5, 5, true, -1 },
	{ __LINE__, "-0", -5, 5, false, 0 },
	{ __LINE__, "007", 0, 10, false, 0 },
	{ __LINE__, "", 0, 10, false, 0 },
	{ __LINE__, " 1", 0, 10, false, 0 },
	{ __LINE__, "1 ", 0, 10, false, 0 },
	{ __LINE__, "+1", 0, 10, false, 0 },
	{ __LINE__, "1e3", 0, 10000, false, 0 },
	{ __LINE__, "9223372036854775807", 0, INT64_MAX, true, INT64_MAX },
	{ __LINE__, "9223372036854775808", 0, INT64_MAX, false, 0 },
	{ __LINE__, "-9223372036854775808", INT64_MIN, 0, true, INT64_MIN },
	{ __LINE__, "99999999999999999999999", 0, INT64_MAX, false, 0 },
};

static void
test_valid_int_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
		long long got = 0;
		bool ok = valid_int(int_cases[i].in, int_cases[i].min,
		    int_cases[i].max, &got);

		if (ok != int_cases[i].ok)
			fail_msg("line %d: \"%s\" accepted=%d", int_cases[i].line,
			    int_cases[i].in, ok);
		if (ok && got != int_cases[i].want)
			fail_msg("line %d: got %lld", int_cases[i].line, got);
	}
}

static void
test_valid_uuid(void **state)
{
	char out[VALID_UUID_LEN + 1];
	const char *good = "0A1b2C3d-4e5F-6789-abcd-EF0123456789";

	(void)state;
	assert_true(valid_uuid(good, strlen(good), out));
	assert_string_equal(out, "0a1b2c3d-4e5f-6789-abcd-ef0123456789");
	assert_false(valid_uuid("0a1b2c3d-4e5f-6789-abcd-ef012345678", 35, out));
	assert_false(valid_uuid("0a1b2c3d-4e5f-6789-abcd-ef01234567890", 37, out));
	assert_false(valid_uuid("0a1b2c3d04e5f-6789-abcd-ef0123456789", 36, out));
	assert_false(valid_uuid("0a1b2c3d-4e5f-6789-abcd-ef012345678g", 36, out));
	assert_false(valid_uuid("../../../../../../../../etc/passwd00", 36, out));
	/* An embedded NUL within the length is refused. */
	assert_false(valid_uuid("0a1b2c3d-4e5f-6789-abcd-ef01234\0789", 36, out));
	/* Every byte at a digit's place and at a dash's: hex digits only. */
	for (int c = 0; c < 256; c++) {
		char s[VALID_UUID_LEN + 1];
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');

		memcpy(s, good, sizeof(s));
		s[1] = (char)c;
		if (valid_uuid(s, VALID_UUID_LEN, out) != hex)
			fail_msg("byte %d at a digit's place", c);
		if (hex && out[1] != (c >= 'A' && c <= 'F' ? c + 32 : c))
			fail_msg("byte %d written as %d", c, out[1]);
		s[1] = good[1];
		s[8] = (char)c;
		if (valid_uuid(s, VALID_UUID_LEN, out) != (c == '-'))
			fail_msg("byte %d at a dash's place", c);
	}
}

#define FFFD	"\xef\xbf\xbd"

/* Each case: input (with its length, NULs allowed), dst size, output. */
static const struct {
	int		 line;
	const char	*in;
	size_t		 len;
	size_t		 dstsz;
	const char	*want;
	bool		 valid;		/* what valid_utf8 says of the input */
} utf8_cases[] = {
#define C(in, dstsz, want, valid) \
	{ __LINE__, in, sizeof(in) - 1, dstsz, want, valid }
	C("", 8, "", true),
	C("plain", 8, "plain", true),
	C("plain", 6, "plain", true),
	C("plain", 5, "plai", true),
	C("plain", 1, "", true),
	C("caf\xc3\xa9", 16, "caf\xc3\xa9", true),
	/* Never half a character: é needs 2 bytes, € 3, 😀 4. */
	C("caf\xc3\xa9", 5, "caf", true),
	C("caf\xc3\xa9", 6, "caf\xc3\xa9", true),
	C("\xe2\x82\xac\xe2\x82\xac", 6, "\xe2\x82\xac", true),
	C("\xf0\x9f\x98\x80", 4, "", true),
	C("\xf0\x9f\x98\x80", 5, "\xf0\x9f\x98\x80", true),
	C("\xf4\x8f\xbf\xbf", 8, "\xf4\x8f\xbf\xbf", true),	/* U+10FFFF */
	/* NUL is no text for PostgreSQL. */
	C("a\0b", 8, "a" FFFD "b", false),
	/* Ill-formed: one U+FFFD per maximal subpart. */
	C("\xff", 8, FFFD, false),
	C("\x80x", 8, FFFD "x", false),
	C("\xc3", 8, FFFD, false),			/* cut short */
	C("\xc3(", 8, FFFD "(", false),
	C("\xe2\x82", 8, FFFD, false),
	C("\xe2\x82x", 8, FFFD "x", false),
	C("\xc0\xaf", 16, FFFD FFFD, false),		/* overlong '/' */
	C("\xe0\x80\xaf", 16, FFFD FFFD FFFD, false),	/* overlong '/' */
	C("\xed\xa0\x80", 16, FFFD FFFD FFFD, false),	/* surrogate */
	C("\xf4\x90\x80\x80", 16, FFFD FFFD FFFD FFFD, false), /* > U+10FFFF */
	C("\xf5\x80", 16, FFFD FFFD, false),
	/* A replacement is a character too: whole or not at all. */
	C("ab\xff", 5, "ab", false),
	C("ab\xff", 6, "ab" FFFD, false),
#undef C
};

static void
test_valid_utf8_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		char dst[64];
		size_t n;

		memset(dst, 'Z', sizeof(dst));
		n = valid_utf8_copy(dst, utf8_cases[i].dstsz, utf8_cases[i].in,
		    utf8_cases[i].len);
		if (strcmp(dst, utf8_cases[i].want) != 0 || n != strlen(dst))
			fail_msg("line %d: got \"%s\" (%zu)", utf8_cases[i].line,
			    dst, n);
		if (n >= utf8_cases[i].dstsz || dst[utf8_cases[i].dstsz] != 'Z')
			fail_msg("line %d: wrote past dstsz", utf8_cases[i].line);
		if (!valid_utf8(dst, n))
			fail_msg("line %d: output is not UTF-8", utf8_cases[i].line);
		if (valid_utf8(utf8_cases[i].in, utf8_cases[i].len) !=
		    utf8_cases[i].valid)
			fail_msg("line %d: valid_utf8 wrong", utf8_cases[i].line);
	}
	/* A zero-size destination is left alone. */
	assert_int_equal(valid_utf8_copy(NULL, 0, "x", 1), 0);
}

/* Each case: a text (with its length, NULs allowed), whether it is JSON. */
static const struct {
	int		 line;
	const char	*in;
	size_t		 len;
	bool		 ok;
} json_cases[] = {
#define C(in, ok)	{ __LINE__, in, sizeof(in) - 1, ok }
	C("{}", true),
	C(" [ ] ", true),
	C("0", true),
	C("\"x\"", true),
	C("null", true),
	C("{\"a\":[1,-2.5e+3,0.5,1E2,true,false,null,\"\"]}", true),
	C("{\"a\" : {\"b\" :\t{}}\r\n}\n", true),
	C("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"", true),
	C("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", true),
	/* What JSON forbids, json-c's strict mode included. */
	C("", false),
	C(" ", false),
	C("{\"a\":NaN}", false),
	C("{\"a\":Infinity}", false),
	C("{\"a\":-Infinity}", false),
	C("{'a':1}", false),
	C("{\"a\":'x'}", false),
	C("{\"a\":1}/* c */", false),
	C("/* c */{}", false),
	C("{\"a\"://c\n1}", false),
	C("{\"a\":1,}", false),
	C("[1,]", false),
	C("[,1]", false),
	C("{,}", false),
	C("{\"a\"}", false),
	C("{\"a\" 1}", false),
	C("{a:1}", false),
	C("{1:1}", false),
	C("[1 2]", false),
	C("{\"a\":1}{}", false),
	C("{} x", false),
	C("01", false),
	C("-", false),
	C("+1", false),
	C("1.", false),
	C(".5", false),
	C("1e", false),
	C("1e+", false),
	C("0x10", false),
	C("TRUE", false),
	C("nul", false),
	C("[", false),
	C("[]]", false),
	C("{\"a\":[}", false),
	C("\"a", false),
	C("\"a\tb\"", false),		/* a raw control character */
	C("\"a\0b\"", false),
	C("[1]\0", false),
	C("\"\\x41\"", false),
	C("\"\\u12\"", false),
	C("\"\\u12g4\"", false),
	C("\"\\", false),
	C("\"\xff\"", false),			/* not UTF-8 */
	C("\"\xc3\"", false),
	C("\"\xed\xa0\x80\"", false),		/* a surrogate's bytes */
	C("\xef\xbb\xbf{}", false),		/* a byte order mark */
#undef C
};

static void
test_valid_json_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++)
		if (valid_json(json_cases[i].in, json_cases[i].len, 16) !=
		    json_cases[i].ok)
			fail_msg("line %d: \"%s\" accepted=%d", json_cases[i].line,
			    json_cases[i].in, !json_cases[i].ok);
}

/* Nesting is bounded, and never recursed: 10000 '[' are just refused. */
static void
test_valid_json_depth(void **state)
{
	static char	 buf[20001];

	(void)state;
	for (int depth = 1; depth <= VALID_JSON_DEPTH_MAX + 1; depth++) {
		size_t n = 0;

		/* [{"a":[{"a": ... 0 ... }]}] */
		for (int k = 0; k < depth; k++) {
			memcpy(buf + n, k % 2 == 0 ? "[" : "{\"a\":",
			    k % 2 == 0 ? 1 : 5);
			n += k % 2 == 0 ? 1 : 5;
		}
		buf[n++] = '0';
		for (int k = depth - 1; k >= 0; k--)
			buf[n++] = k % 2 == 0 ? ']' : '}';
		if (valid_json(buf, n, 16) != (depth <= 16))
			fail_msg("depth %d with a bound of 16", depth);
		if (valid_json(buf, n, 1000) != (depth <= VALID_JSON_DEPTH_MAX))
			fail_msg("depth %d with a bound over the maximum", depth);
	}
	memset(buf, '[', 10000);
	assert_false(valid_json(buf, 10000, 16));
	memset(buf + 10000, ']', 10000);
	assert_false(valid_json(buf, 20000, VALID_JSON_DEPTH_MAX));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_int_table),
		cmocka_unit_test(test_valid_uuid),
		cmocka_unit_test(test_valid_utf8_table),
		cmocka_unit_test(test_valid_json_table),
		cmocka_unit_test(test_valid_json_depth),
	};
	return cmocka_run_group_tests_name("valid", tests, NULL, NULL);
}
