/*
 * auth.c: libFuzzer harness of the Authorization header.
 *
 * Every authenticated route starts with app_authenticate (lib/app.c),
 * which finds the token with auth_bearer (lib/auth.c) and hashes it with
 * auth_hash: the only thing a worker ever does with the header. The input
 * is the header's value (HTTP_AUTHORIZATION; a NUL ends it, as it ends a
 * FastCGI parameter); an empty input stands for a request without the
 * header.
 *
 * Properties: an accepted header starts with the scheme "Bearer" (in any
 * case), its token is a suffix of it of AUTH_TOKEN_MIN to AUTH_TOKEN_MAX
 * base64url characters, and the hash is the SHA-256 of exactly those
 * bytes (computed here with libcrypto's one-shot EVP_Digest); a refused
 * one is a 401 with a JSON error, and never hashed.
 */
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "app.h"
#include "fuzz.h"
#include "log.h"

#define B64URL	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-auth", LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 f;
	struct http_request	 req;
	struct http_response	 resp;
	unsigned char		 hash[AUTH_HASH_LEN], want[EVP_MAX_MD_SIZE];
	unsigned int		 wantlen = 0;
	const char		*tok = NULL;
	size_t			 len = 0, hlen;
	json_object		*v;

	fuzz_fields(data, size, '\0', 1, &f);
	memset(&req, 0, sizeof(req));
	req.method = HTTP_GET;
	req.authorization = size > 0 ? f.field[0] : NULL;
	http_response_init(&resp);
	memset(hash, 0, sizeof(hash));

	if (app_authenticate(&req, &resp, hash)) {
		FUZZ_CHECK(req.authorization != NULL);
		FUZZ_CHECK(auth_bearer(req.authorization, &tok, &len));
		hlen = strlen(req.authorization);
		FUZZ_CHECK(strncasecmp(req.authorization, "bearer", 6) == 0);
		FUZZ_CHECK(len >= AUTH_TOKEN_MIN && len <= AUTH_TOKEN_MAX);
		FUZZ_CHECK(tok > req.authorization + 6 &&
		    tok + len == req.authorization + hlen);
		FUZZ_CHECK(fuzz_all_in(tok, len, B64URL));
		FUZZ_CHECK(EVP_Digest(tok, len, want, &wantlen, EVP_sha256(),
		    NULL) == 1 && wantlen == AUTH_HASH_LEN);
		FUZZ_CHECK(memcmp(hash, want, AUTH_HASH_LEN) == 0);
		FUZZ_CHECK(resp.body == NULL);
	} else {
		FUZZ_CHECK(!auth_bearer(req.authorization, &tok, &len));
		FUZZ_CHECK(resp.status == 401 && resp.body != NULL &&
		    json_object_object_get_ex(resp.body, "error", &v));
	}
	http_response_free(&resp);
	fuzz_fields_free(&f);
	return 0;
}
