/*
 * valid.c: strict validators.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "valid.h"

bool
valid_int(const char *s, long long min, long long max, long long *out)
{
	unsigned long long	 v = 0, lim;
	bool			 neg = false;
	const char		*p = s;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return false;
	if (*p == '0' && p[1] != '\0')		/* no leading zeros */
		return false;
	if (neg && *p == '0')			/* no "-0" */
		return false;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (lim - (unsigned long long)(*p - '0')) / 10)
			return false;		/* overflow */
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	long long n = neg ? (long long)(0 - v) : (long long)v;
	if (n < min || n > max)
		return false;
	*out = n;
	return true;
}

bool
valid_uuid(const char *s, size_t len, char *out)
{
	if (len != VALID_UUID_LEN)
		return false;
	for (size_t i = 0; i < VALID_UUID_LEN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!isxdigit(c))
			return false;
		if (out != NULL)
			out[i] = (char)tolower(c);
	}
	if (out != NULL)
		out[VALID_UUID_LEN] = '\0';
	return true;
}

/*
 * The UTF-8 character at s (len > 0 bytes left): true with its length in
 * *n, or false with in *n the length of the maximal ill-formed subpart
 * (Unicode 15, 3.9: what one U+FFFD replaces). Refuses overlong forms,
 * surrogates and anything above U+10FFFF.
 */
static bool
valid_utf8_char(const unsigned char *s, size_t len, size_t *n)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 need, i;

	*n = 1;
	if (s[0] < 0x80)
		return true;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;		/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;		/* over U+10FFFF */
	} else
		return false;			/* 80..c1, f5..ff */
	for (i = 1; i < need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*n = i;
			return false;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*n = need;
	return true;
}

bool
valid_utf8(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, n;

	while (i < len) {
		if (u[i] == '\0' || !valid_utf8_char(u + i, len - i, &n))
			return false;
		i += n;
	}
	return true;
}

size_t
valid_utf8_copy(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char	 repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char	*u = (const unsigned char *)src;
	size_t			 i = 0, o = 0, n;

	if (dstsz == 0)
		return 0;
	while (i < len) {
		const char	*from = src + i;
		size_t		 out;

		if (u[i] != '\0' && valid_utf8_char(u + i, len - i, &n))
			out = n;
		else {
			n = u[i] == '\0' ? 1 : n;
			from = repl;
			out = sizeof(repl) - 1;
		}
		if (o + out > dstsz - 1)
			break;		/* never half a character */
		memcpy(dst + o, from, out);
		o += out;
		i += n;
	}
	dst[o] = '\0';
	return o;
}
