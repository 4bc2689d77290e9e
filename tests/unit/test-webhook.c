/* Unit tests of lib/webhook.c: Standard Webhooks signatures. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "webhook.h"

/* The example of the Standard Webhooks specification. */
#define SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define ID	"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS	"1614265330"
#define BODY	"{\"test\": 2432232314}"
#define SIG	"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define NOW	1614265330

static enum webhook_verdict
verify(const char *secret, const char *id, const char *ts, const char *sig,
    const char *body, int64_t now)
{
	return webhook_verify(secret, id, ts, sig, body,
	    body != NULL ? strlen(body) : 0, now);
}

static void
test_webhook_spec_vector(void **state)
{
	char sig[WEBHOOK_SIG_MAX];

	(void)state;
	assert_true(webhook_sign(SECRET, ID, TS, BODY, strlen(BODY), sig));
	assert_string_equal(sig, SIG);
	assert_int_equal(verify(SECRET, ID, TS, SIG, BODY, NOW), WEBHOOK_OK);
}

static void
test_webhook_refusals(void **state)
{
	(void)state;
	/* One byte of the body changed. */
	assert_int_equal(verify(SECRET, ID, TS, SIG, "{\"test\": 2432232315}", NOW),
	    WEBHOOK_BAD_SIGNATURE);
	/* Another id, so another signed content. */
	assert_int_equal(verify(SECRET, "msg_other", TS, SIG, BODY, NOW),
	    WEBHOOK_BAD_SIGNATURE);
	/* The wrong secret. */
	assert_int_equal(verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ID, TS,
	    SIG, BODY, NOW), WEBHOOK_BAD_SIGNATURE);
	/* Five minutes is the limit, either way. */
	assert_int_equal(verify(SECRET, ID, TS, SIG, BODY, NOW + 300), WEBHOOK_OK);
	assert_int_equal(verify(SECRET, ID, TS, SIG, BODY, NOW + 301), WEBHOOK_STALE);
	assert_int_equal(verify(SECRET, ID, TS, SIG, BODY, NOW - 301), WEBHOOK_STALE);
	assert_int_equal(verify(SECRET, ID, "1614265330.0", SIG, BODY, NOW),
	    WEBHOOK_BAD_TIMESTAMP);
	assert_int_equal(verify(SECRET, ID, "abc", SIG, BODY, NOW),
	    WEBHOOK_BAD_TIMESTAMP);
	assert_int_equal(verify(SECRET, NULL, TS, SIG, BODY, NOW), WEBHOOK_MISSING);
	assert_int_equal(verify(SECRET, ID, NULL, SIG, BODY, NOW), WEBHOOK_MISSING);
	assert_int_equal(verify(SECRET, ID, TS, NULL, BODY, NOW), WEBHOOK_MISSING);
	assert_int_equal(verify(SECRET, ID, TS, "", BODY, NOW), WEBHOOK_MISSING);
	/* Only v1 entries count; garbage is not a crash. */
	assert_int_equal(verify(SECRET, ID, TS,
	    "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, NOW),
	    WEBHOOK_BAD_SIGNATURE);
	assert_int_equal(verify(SECRET, ID, TS, "v1,", BODY, NOW),
	    WEBHOOK_BAD_SIGNATURE);
	assert_int_equal(verify(SECRET, ID, TS, "v1,!!!!", BODY, NOW),
	    WEBHOOK_BAD_SIGNATURE);
	assert_int_equal(verify("nope", ID, TS, SIG, BODY, NOW), WEBHOOK_BAD_SECRET);
}

static void
test_webhook_several_signatures(void **state)
{
	(void)state;
	assert_int_equal(verify(SECRET, ID, TS,
	    "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SIG, BODY, NOW),
	    WEBHOOK_OK);
	assert_int_equal(verify(SECRET, ID, TS, SIG "  v2,xyz", BODY, NOW),
	    WEBHOOK_OK);
	assert_int_equal(verify(SECRET, ID, TS,
	    "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,BBBB", BODY, NOW),
	    WEBHOOK_BAD_SIGNATURE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_spec_vector),
		cmocka_unit_test(test_webhook_refusals),
		cmocka_unit_test(test_webhook_several_signatures),
	};
	return cmocka_run_group_tests_name("webhook", tests, NULL, NULL);
}
