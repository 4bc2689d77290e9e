/* Unit tests of lib/valid.c: strict integers and UUIDs. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_int_table),
		cmocka_unit_test(test_valid_uuid),
	};
	return cmocka_run_group_tests_name("valid", tests, NULL, NULL);
}
