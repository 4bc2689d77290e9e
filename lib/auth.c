/*
 * auth.c: bearer token parsing, hashing and generation (libcrypto).
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth.h"

static bool
auth_is_b64url(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
auth_bearer(const char *header, const char **tok, size_t *len)
{
	const char	*p;
	size_t		 n;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	p = header + 7;
	while (*p == ' ')
		p++;
	for (n = 0; auth_is_b64url((unsigned char)p[n]); n++)
		if (n > AUTH_TOKEN_MAX)
			return false;
	if (p[n] != '\0' || n < AUTH_TOKEN_MIN || n > AUTH_TOKEN_MAX)
		return false;
	*tok = p;
	*len = n;
	return true;
}

/*
 * OpenSSL 3 looks a digest up by name on every use of EVP_sha256();
 * fetched once, the method is reused for the life of the worker, and so
 * is one digest context (EVP_Digest makes and frees one per call), both
 * given back by auth_close.
 */
static EVP_MD		*auth_sha256;
static EVP_MD_CTX	*auth_ctx;

/*
 * The last token hashed and its digest. A browser sends one token with
 * every request, so a worker mostly hashes the token it hashed last:
 * SHA-256 through EVP was about 3k of a cached request's 23k
 * instructions. The token is compared in constant time over its whole
 * length; a hit tells a caller only that the token it sent is, entirely,
 * the one sent last. Lengths are not secret (ours all have 43
 * characters). The token stays in memory until the next one or
 * auth_close.
 */
static struct {
	char		 tok[AUTH_TOKEN_MAX];
	size_t		 len;			/* 0: none */
	unsigned char	 hash[AUTH_HASH_LEN];
} auth_last;

bool
auth_hash(const char *tok, size_t len, unsigned char out[AUTH_HASH_LEN])
{
	unsigned int	 outlen = 0;

	if (len != 0 && len == auth_last.len &&
	    CRYPTO_memcmp(tok, auth_last.tok, len) == 0) {
		memcpy(out, auth_last.hash, AUTH_HASH_LEN);
		return true;
	}
	if (auth_sha256 == NULL &&
	    (auth_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return false;
	if (auth_ctx == NULL && (auth_ctx = EVP_MD_CTX_new()) == NULL)
		return false;
	if (EVP_DigestInit_ex2(auth_ctx, auth_sha256, NULL) != 1 ||
	    EVP_DigestUpdate(auth_ctx, tok, len) != 1 ||
	    EVP_DigestFinal_ex(auth_ctx, out, &outlen) != 1 ||
	    outlen != AUTH_HASH_LEN)
		return false;
	if (len <= sizeof(auth_last.tok)) {
		memcpy(auth_last.tok, tok, len);
		auth_last.len = len;
		memcpy(auth_last.hash, out, AUTH_HASH_LEN);
	}
	return true;
}

void
auth_close(void)
{
	/* A fetched method holds OpenSSL's provider store alive. */
	EVP_MD_CTX_free(auth_ctx);
	auth_ctx = NULL;
	EVP_MD_free(auth_sha256);
	auth_sha256 = NULL;
	OPENSSL_cleanse(&auth_last, sizeof(auth_last));
}

bool
auth_token_new(char *out, size_t outsz)
{
	unsigned char	 raw[32];
	char		 b64[48];	/* 4 * ceil(32 / 3) = 44, plus NUL */
	int		 n;

	if (outsz < AUTH_TOKEN_NEW_LEN + 1 || RAND_bytes(raw, sizeof(raw)) != 1)
		return false;
	n = EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (n != 44)
		return false;
	for (int i = 0; i < AUTH_TOKEN_NEW_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[AUTH_TOKEN_NEW_LEN] = '\0';
	OPENSSL_cleanse(b64, sizeof(b64));
	return true;
}
