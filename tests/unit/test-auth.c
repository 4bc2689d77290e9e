/* Unit tests of lib/auth.c: bearer parsing, hashing, new tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "auth.h"

static void
test_auth_bearer_accepts(void **state)
{
	const char *tok;
	size_t len;

	(void)state;
	assert_true(auth_bearer("Bearer abcdefghijklmnopqrstuv", &tok, &len));
	assert_int_equal(len, 22);
	assert_memory_equal(tok, "abcdefghijklmnopqrstuv", 22);
	assert_true(auth_bearer("bearer   AAAAAAAAAAAAAAAAAAAAAA-_", &tok, &len));
	assert_int_equal(len, 24);
}

static void
test_auth_bearer_refuses(void **state)
{
	static const char *const bad[] = {
		NULL, "", "Bearer", "Bearer ", "Basic abcdefghijklmnopqrstuv",
		"Bearer short", "Bearer abcdefghijklmnopqrstuv ",
		"Bearer abcdefghijklmnop=qrstuv", "Bearer abcdefghijk\tlmnopqrstuv",
		"Bearerabcdefghijklmnopqrstuv",
	};
	char huge[400];
	const char *tok;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (auth_bearer(bad[i], &tok, &len))
			fail_msg("accepted \"%s\"", bad[i] ? bad[i] : "(null)");
	memcpy(huge, "Bearer ", 7);
	memset(huge + 7, 'a', sizeof(huge) - 8);
	huge[sizeof(huge) - 1] = '\0';
	assert_false(auth_bearer(huge, &tok, &len));
}

static void
test_auth_hash_known_vector(void **state)
{
	unsigned char h[AUTH_HASH_LEN];
	/* SHA-256("abc"), FIPS 180-2 appendix B.1. */
	static const unsigned char want[AUTH_HASH_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};

	(void)state;
	assert_true(auth_hash("abc", 3, h));
	assert_memory_equal(h, want, AUTH_HASH_LEN);
	/* The kept context starts afresh each time, and after auth_close. */
	assert_true(auth_hash("abcabc", 6, h));
	assert_true(auth_hash("abc", 3, h));
	assert_memory_equal(h, want, AUTH_HASH_LEN);
	auth_close();
	assert_true(auth_hash("abc", 3, h));
	assert_memory_equal(h, want, AUTH_HASH_LEN);
	auth_close();
}

/* SHA-256 of tok through libcrypto's one-shot call: the oracle. */
static void
sha256_oneshot(const char *tok, unsigned char out[AUTH_HASH_LEN])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(tok, strlen(tok), out, &n, EVP_sha256(),
	    NULL), 1);
	assert_int_equal(n, AUTH_HASH_LEN);
}

/*
 * The last token is remembered with its digest: every token still gets
 * its own, whether it repeats the last, differs from it in its last
 * character, is a prefix of it, or comes back after another.
 */
static void
test_auth_hash_last_token(void **state)
{
	static const char *seq[] = {
		"llrBrzKyENjiTTKtRvVy6UNEfKfAXvx_LlzhS6SkYVo",
		"llrBrzKyENjiTTKtRvVy6UNEfKfAXvx_LlzhS6SkYVo",
		"llrBrzKyENjiTTKtRvVy6UNEfKfAXvx_LlzhS6SkYVp",
		"llrBrzKyENjiTTKtRvVy6UNEfKfAXvx_LlzhS6SkYV",
		"llrBrzKyENjiTTKtRvVy6UNEfKfAXvx_LlzhS6SkYVo",
		"mlrBrzKyENjiTTKtRvVy6UNEfKfAXvx_LlzhS6SkYVo",
		"mlrBrzKyENjiTTKtRvVy6UNEfKfAXvx_LlzhS6SkYVo",
	};
	unsigned char got[AUTH_HASH_LEN], want[AUTH_HASH_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		assert_true(auth_hash(seq[i], strlen(seq[i]), got));
		sha256_oneshot(seq[i], want);
		assert_memory_equal(got, want, AUTH_HASH_LEN);
	}
	/* After auth_close, nothing is remembered (and all still hashes). */
	auth_close();
	assert_true(auth_hash(seq[0], strlen(seq[0]), got));
	sha256_oneshot(seq[0], want);
	assert_memory_equal(got, want, AUTH_HASH_LEN);
	auth_close();
}

static void
test_auth_token_new(void **state)
{
	char a[AUTH_TOKEN_NEW_LEN + 1], b[AUTH_TOKEN_NEW_LEN + 1], hdr[64];
	const char *tok;
	size_t len;

	(void)state;
	assert_true(auth_token_new(a, sizeof(a)));
	assert_true(auth_token_new(b, sizeof(b)));
	assert_int_equal(strlen(a), AUTH_TOKEN_NEW_LEN);
	assert_string_not_equal(a, b);
	snprintf(hdr, sizeof(hdr), "Bearer %s", a);
	assert_true(auth_bearer(hdr, &tok, &len));
	assert_false(auth_token_new(a, AUTH_TOKEN_NEW_LEN));	/* too small */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_bearer_accepts),
		cmocka_unit_test(test_auth_bearer_refuses),
		cmocka_unit_test(test_auth_hash_known_vector),
		cmocka_unit_test(test_auth_hash_last_token),
		cmocka_unit_test(test_auth_token_new),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
