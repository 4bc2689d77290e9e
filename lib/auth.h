/*
 * auth.h: session tokens, as the client sends them and as we store them.
 *
 * A token is an opaque base64url string of at least 128 bits of entropy.
 * Neither PostgreSQL nor the cache ever holds a token, only its SHA-256.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "attr.h"

#define AUTH_HASH_LEN		32	/* SHA-256 */
#define AUTH_TOKEN_MIN		22	/* 128 bits in base64url */
#define AUTH_TOKEN_MAX		256
#define AUTH_TOKEN_NEW_LEN	43	/* 32 random bytes in base64url */

/*
 * Finds the token in an Authorization header value ("Bearer <token>", the
 * scheme in any case). On success points *tok into header and sets *len.
 * Returns false for a missing header, another scheme or a malformed token.
 */
bool	auth_bearer(const char *header, const char **tok, size_t *len);

/*
 * SHA-256 of the token into out. False only if libcrypto fails. The
 * digest's method and a context are made at the first call and kept until
 * auth_close, and so is the last token with its digest: the same token
 * again (compared in constant time) is not hashed again.
 */
bool	auth_hash(const char *tok, size_t len, unsigned char out[AUTH_HASH_LEN])
	    MUSTCHECK;

/*
 * Gives back what auth_hash keeps for the life of the process (at exit:
 * app_close), the last token wiped. A later auth_hash fetches it again.
 */
void	auth_close(void);

/*
 * A new token from 32 bytes of RAND_bytes, base64url without padding,
 * NUL-terminated into out (at least AUTH_TOKEN_NEW_LEN + 1 bytes).
 */
bool	auth_token_new(char *out, size_t outsz)
	    MUSTCHECK;

#endif /* AUTH_H */
