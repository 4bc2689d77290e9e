/*
 * webhook.h: Standard Webhooks signatures (the scheme Replicate uses).
 *
 * The signed content is "<webhook-id>.<webhook-timestamp>.<raw body>", the
 * MAC is HMAC-SHA256 keyed with the base64 decoding of the secret after
 * "whsec_", and the webhook-signature header carries one or more
 * space-separated "v1,<base64 MAC>" entries. All crypto is libcrypto's;
 * MACs are compared in constant time.
 */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"

#define WEBHOOK_TOLERANCE_S	300	/* timestamps more than 5 min off */
#define WEBHOOK_SIG_MAX		64	/* "v1," + base64 of 32 bytes, NUL */

enum webhook_verdict {
	WEBHOOK_OK = 0,
	WEBHOOK_MISSING,	/* a header is absent or empty */
	WEBHOOK_BAD_TIMESTAMP,	/* not a plain integer */
	WEBHOOK_STALE,		/* outside the tolerance */
	WEBHOOK_BAD_SIGNATURE,	/* no v1 entry matches */
	WEBHOOK_BAD_SECRET,	/* our secret is not whsec_<base64> */
	WEBHOOK__MAX
};

const char *webhook_verdict_name(enum webhook_verdict);

/*
 * Verifies a delivery at time now (unix seconds). Any argument may be NULL
 * (a missing header).
 */
enum webhook_verdict webhook_verify(const char *secret, const char *id,
    const char *timestamp, const char *signature, const char *body,
    size_t bodylen, int64_t now);

/*
 * Writes the header value "v1,<base64>" for a delivery into out
 * (WEBHOOK_SIG_MAX bytes). For the local provider's tests and tools.
 */
bool	webhook_sign(const char *secret, const char *id, const char *timestamp,
	    const char *body, size_t bodylen, char out[WEBHOOK_SIG_MAX])
	    MUSTCHECK;

#endif /* WEBHOOK_H */
