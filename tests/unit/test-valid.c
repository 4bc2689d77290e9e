/* Unit tests of lib/valid.c: strict integers, UUIDs and UTF-8. */
#include <stdarg.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_int_table),
		cmocka_unit_test(test_valid_uuid),
		cmocka_unit_test(test_valid_utf8_table),
	};
	return cmocka_run_group_tests_name("valid", tests, NULL, NULL);
}
