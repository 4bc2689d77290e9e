/*
 * webhook.c: Standard Webhooks HMAC-SHA256 signing and verification.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "valid.h"
#include "webhook.h"

#define KEY_MAX	256

static const char *const webhook_names[WEBHOOK__MAX] = {
	"ok",			/* WEBHOOK_OK */
	"missing header",	/* WEBHOOK_MISSING */
	"bad timestamp",	/* WEBHOOK_BAD_TIMESTAMP */
	"stale timestamp",	/* WEBHOOK_STALE */
	"bad signature",	/* WEBHOOK_BAD_SIGNATURE */
	"bad secret",		/* WEBHOOK_BAD_SECRET */
};

const char *
webhook_verdict_name(enum webhook_verdict v)
{
	return (unsigned)v < WEBHOOK__MAX ? webhook_names[v] : "unknown";
}

/*
 * Decodes standard base64 (with padding) into out; returns the number of
 * bytes, or -1 when s is not base64 or does not fit.
 */
static int
webhook_b64decode(const char *s, size_t len, unsigned char *out, size_t outsz)
{
	int	 n, pad = 0;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > outsz)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		    (c == '=' && i >= len - 2);

		if (!ok || (pad > 0 && c != '='))
			return -1;
		if (c == '=')
			pad++;
	}
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	return n < 0 ? -1 : n - pad;
}

/* The secret's key bytes into key; -1 when malformed. */
static int
webhook_key(const char *secret, unsigned char key[KEY_MAX])
{
	if (secret == NULL || strncmp(secret, "whsec_", 6) != 0)
		return -1;
	return webhook_b64decode(secret + 6, strlen(secret + 6), key, KEY_MAX);
}

/* HMAC-SHA256 of "id.timestamp.body" into mac (32 bytes). */
static bool
webhook_mac(const unsigned char *key, int keylen, const char *id,
    const char *ts, const char *body, size_t bodylen, unsigned char mac[32])
{
	size_t		 idlen = strlen(id), tslen = strlen(ts);
	size_t		 len = idlen + 1 + tslen + 1 + bodylen;
	unsigned char	*msg = malloc(len);
	unsigned int	 maclen = 0;
	bool		 ok;

	if (msg == NULL)
		return false;
	memcpy(msg, id, idlen);
	msg[idlen] = '.';
	memcpy(msg + idlen + 1, ts, tslen);
	msg[idlen + 1 + tslen] = '.';
	memcpy(msg + idlen + 2 + tslen, body, bodylen);
	ok = HMAC(EVP_sha256(), key, keylen, msg, len, mac, &maclen) != NULL &&
	    maclen == 32;
	free(msg);
	return ok;
}

enum webhook_verdict
webhook_verify(const char *secret, const char *id, const char *timestamp,
    const char *signature, const char *body, size_t bodylen, int64_t now)
{
	unsigned char	 key[KEY_MAX], mac[32], got[48];
	long long	 ts;
	int		 keylen;
	bool		 match = false;
	const char	*p;

	if ((keylen = webhook_key(secret, key)) <= 0)
		return WEBHOOK_BAD_SECRET;
	if (id == NULL || *id == '\0' || timestamp == NULL ||
	    *timestamp == '\0' || signature == NULL || *signature == '\0' ||
	    body == NULL)
		return WEBHOOK_MISSING;
	if (!valid_int(timestamp, 0, INT64_MAX, &ts))
		return WEBHOOK_BAD_TIMESTAMP;
	if (ts < now - WEBHOOK_TOLERANCE_S || ts > now + WEBHOOK_TOLERANCE_S)
		return WEBHOOK_STALE;
	if (!webhook_mac(key, keylen, id, timestamp, body, bodylen, mac)) {
		OPENSSL_cleanse(key, sizeof(key));
		return WEBHOOK_BAD_SIGNATURE;
	}
	OPENSSL_cleanse(key, sizeof(key));
	/* Every entry is looked at, so the time does not tell which matched. */
	for (p = signature; *p != '\0';) {
		size_t len = strcspn(p, " ");

		if (len > 3 && strncmp(p, "v1,", 3) == 0 &&
		    webhook_b64decode(p + 3, len - 3, got, sizeof(got)) == 32 &&
		    CRYPTO_memcmp(got, mac, 32) == 0)
			match = true;
		p += len;
		while (*p == ' ')
			p++;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return match ? WEBHOOK_OK : WEBHOOK_BAD_SIGNATURE;
}

bool
webhook_sign(const char *secret, const char *id, const char *timestamp,
    const char *body, size_t bodylen, char out[WEBHOOK_SIG_MAX])
{
	unsigned char	 key[KEY_MAX], mac[32];
	int		 keylen = webhook_key(secret, key);
	bool		 ok;

	if (keylen <= 0)
		return false;
	ok = webhook_mac(key, keylen, id, timestamp, body, bodylen, mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		return false;
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, 32);	/* 44 + NUL */
	return true;
}
