/*
 * webhook.c: libFuzzer harness of the provider's webhook: its headers,
 * the Standard Webhooks signature, the body.
 *
 * The video-complete worker answers POST /api/video-complete with
 * video_complete_handle (lib/video_complete.c), and the harness calls
 * just that: the content type, then generation_webhook's
 * webhook_verify (lib/webhook.c), the webhook-id check, prediction_parse,
 * and the event into a real outbox (a file in a scratch folder on tmpfs,
 * made once like the engine makes it; the worker opens it without
 * creating it). Nothing else is needed: no database, cache or provider.
 *
 * Input: fields cut at newlines: Content-Type, webhook-id,
 * webhook-timestamp, webhook-signature, then the body (the rest, newlines
 * and NULs included). A missing field is a missing header. Since no
 * fuzzer guesses an HMAC or the clock, two forms are filled in: a
 * timestamp "@N" becomes now + N (N signed), and each "SIG" in the
 * signature header becomes the right "v1,<base64>" for the id, the
 * timestamp and the body, computed here with libcrypto's HMAC (not with
 * webhook_sign).
 *
 * Properties: every answer is 200, or an error (400, 401) with a JSON
 * error code; never a 503, which only a failing outbox gives. A 200 comes
 * only with a JSON content type, a timestamp within the tolerance, an
 * entry of the signature header that decodes to the right MAC, a printable
 * webhook-id and a body that prediction_parse accepts; the same delivery
 * again is a 200 that says duplicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "clock.h"
#include "fuzz.h"
#include "log.h"
#include "outbox.h"
#include "video_complete.h"
#include "webhook.h"

/* base64 of the 32 bytes "fcgi-pool-lab: the fuzz secret!!" */
#define SECRET_B64	"ZmNnaS1wb29sLWxhYjogdGhlIGZ1enogc2VjcmV0ISE="
#define SECRET_KEY	"fcgi-pool-lab: the fuzz secret!!"

enum { F_TYPE, F_ID, F_TS, F_SIG, F_BODY, F__MAX };

static struct config	 cfg;
static struct app	 app;
static char		 outbox_path[512];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		 err[256];
	struct outbox	*o;

	(void)argc;
	(void)argv;
	log_init("fuzz-webhook", LOG_ERROR);
	if (!config_load(&cfg, err, sizeof(err))) {
		fprintf(stderr, "fuzz-webhook: %s\n", err);
		abort();
	}
	cfg.webhook_secret = "whsec_" SECRET_B64;
	snprintf(outbox_path, sizeof(outbox_path), "%s/outbox.sqlite",
	    fuzz_scratch());
	cfg.outbox_path = outbox_path;
	/* The engine makes the file; workers only open it. */
	if ((o = outbox_open(outbox_path, 1000, true)) == NULL)
		abort();
	outbox_close(o);
	app.cfg = &cfg;
	return 0;
}

/* The right signature entry "v1,<base64>" for a delivery, into out. */
static void
sign(const char *id, const char *ts, const char *body, size_t bodylen,
    char out[WEBHOOK_SIG_MAX])
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	size_t		 idlen = strlen(id), tslen = strlen(ts);
	size_t		 len = idlen + tslen + 2 + bodylen;
	unsigned char	*msg;

	if ((msg = malloc(len)) == NULL)
		abort();
	memcpy(msg, id, idlen);
	msg[idlen] = '.';
	memcpy(msg + idlen + 1, ts, tslen);
	msg[idlen + 1 + tslen] = '.';
	memcpy(msg + idlen + 2 + tslen, body, bodylen);
	FUZZ_CHECK(HMAC(EVP_sha256(), SECRET_KEY, strlen(SECRET_KEY), msg, len,
	    mac, &maclen) != NULL && maclen == 32);
	free(msg);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, 32);
}

/* Whether one entry of the header decodes to the MAC of entry want. */
static bool
signed_right(const char *header, const char *want)
{
	unsigned char	 w[48], g[48 + 3];
	const char	*p;

	FUZZ_CHECK(EVP_DecodeBlock(w, (const unsigned char *)want + 3, 44) ==
	    33);
	for (p = header; *p != '\0';) {
		size_t len = strcspn(p, " ");

		if (len > 3 && len - 3 <= 64 && (len - 3) % 4 == 0 &&
		    strncmp(p, "v1,", 3) == 0 &&
		    EVP_DecodeBlock(g, (const unsigned char *)p + 3,
		    (int)(len - 3)) >= 32 && memcmp(g, w, 32) == 0)
			return true;
		p += len;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* Replaces each "SIG" of s with entry; a new string. */
static char *
fill_sig(const char *s, const char *entry)
{
	size_t	 n = 0, elen = strlen(entry);
	char	*out, *o;

	for (const char *p = s; (p = strstr(p, "SIG")) != NULL; p += 3)
		n++;
	if ((out = malloc(strlen(s) + n * elen + 1)) == NULL)
		abort();
	for (o = out; *s != '\0';) {
		if (strncmp(s, "SIG", 3) == 0) {
			memcpy(o, entry, elen);
			o += elen;
			s += 3;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static void
deliver(const struct http_request *req, struct http_response *resp)
{
	http_response_init(resp);
	video_complete_handle(&app, req, resp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 f;
	struct http_request	 req;
	struct http_response	 resp;
	struct prediction	 pred;
	char			 ts[32], entry[WEBHOOK_SIG_MAX], err[128];
	char			*sig = NULL;
	int64_t			 now = clock_unix_s();
	long long		 t = 0;
	json_object		*v;

	fuzz_fields(data, size, '\n', F__MAX, &f);
	memset(&req, 0, sizeof(req));
	req.method = HTTP_POST;
	req.method_name = "POST";
	req.path = "/api/video-complete";
	req.pathlen = strlen(req.path);
	req.query = "";
	req.content_type = f.field[F_TYPE];
	req.webhook_id = f.field[F_ID];
	req.webhook_timestamp = f.field[F_TS];
	if (req.webhook_timestamp != NULL && req.webhook_timestamp[0] == '@') {
		snprintf(ts, sizeof(ts), "%lld", (long long)now +
		    strtoll(req.webhook_timestamp + 1, NULL, 10) % 100000);
		req.webhook_timestamp = ts;
	}
	/* The worker's body is NUL-terminated, and "" when absent. */
	req.body = f.field[F_BODY] != NULL ? f.field[F_BODY] : "";
	req.bodylen = f.field[F_BODY] != NULL ? f.len[F_BODY] : 0;
	if (f.field[F_SIG] != NULL && req.webhook_id != NULL &&
	    req.webhook_timestamp != NULL) {
		sign(req.webhook_id, req.webhook_timestamp, req.body,
		    req.bodylen, entry);
		req.webhook_signature = sig = fill_sig(f.field[F_SIG], entry);
	} else
		req.webhook_signature = f.field[F_SIG];

	deliver(&req, &resp);
	FUZZ_CHECK(resp.body != NULL);
	/* The outbox is healthy: it takes every event that passed. */
	FUZZ_CHECK(resp.status != 503);
	if (resp.status == 200) {
		FUZZ_CHECK(strncasecmp(req.content_type, "application/json",
		    16) == 0);
		FUZZ_CHECK(valid_int(req.webhook_timestamp, 0, INT64_MAX, &t));
		FUZZ_CHECK(t >= now - WEBHOOK_TOLERANCE_S - 1 &&
		    t <= now + WEBHOOK_TOLERANCE_S + 1);
		FUZZ_CHECK(sig != NULL && signed_right(sig, entry));
		FUZZ_CHECK(strlen(req.webhook_id) > 0 &&
		    strlen(req.webhook_id) < PREDICTION_ID_MAX);
		FUZZ_CHECK(fuzz_all_in(req.webhook_id, strlen(req.webhook_id),
		    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"));
		FUZZ_CHECK(prediction_parse(req.body, req.bodylen, &pred, err,
		    sizeof(err)));
		FUZZ_CHECK(json_object_object_get_ex(resp.body, "accepted", &v) &&
		    json_object_get_boolean(v));
	} else
		FUZZ_CHECK((resp.status == 400 || resp.status == 401) &&
		    json_object_object_get_ex(resp.body, "error", &v) &&
		    json_object_is_type(v, json_type_string));
	/* A repeated delivery changes nothing, and says so (well inside
	 * the tolerance, so that the clock's next second changes nothing). */
	if (resp.status == 200 && t > now - WEBHOOK_TOLERANCE_S + 5 &&
	    t < now + WEBHOOK_TOLERANCE_S - 5) {
		http_response_free(&resp);
		deliver(&req, &resp);
		FUZZ_CHECK(resp.status == 200 &&
		    json_object_object_get_ex(resp.body, "duplicate", &v) &&
		    json_object_get_boolean(v));
	}
	http_response_free(&resp);
	free(sig);
	fuzz_fields_free(&f);
	return 0;
}
