/*
 * valid.c: strict validators.
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
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
		} else if (c >= 'A' && c <= 'F')
			c += 'a' - 'A';		/* without the locale's tables */
		else if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f'))
			return false;
		if (out != NULL)
			out[i] = (char)c;
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

static size_t
valid_json_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	return i;
}

static size_t
valid_json_digits(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* The string that opens at s[*i]; *i moves past its closing quote. */
static bool
valid_json_string(const char *s, size_t len, size_t *i)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 p = *i + 1, n;

	while (p < len) {
		if (u[p] == '"') {
			*i = p + 1;
			return true;
		}
		if (u[p] < 0x20)		/* control characters are escaped */
			return false;
		if (u[p] != '\\') {
			if (!valid_utf8_char(u + p, len - p, &n))
				return false;
			p += n;
			continue;
		}
		if (p + 1 >= len)
			return false;
		if (u[p + 1] == 'u') {
			if (len - p < 6)
				return false;
			for (n = 2; n < 6; n++)
				if (!isxdigit(u[p + n]))
					return false;
			p += 6;
		} else if (memchr("\"\\/bfnrt", u[p + 1], 8) != NULL)
			p += 2;
		else
			return false;
	}
	return false;
}

/* The number at s[*i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
valid_json_number(const char *s, size_t len, size_t *i)
{
	size_t	 p = *i, q;

	if (p < len && s[p] == '-')
		p++;
	if (p < len && s[p] == '0')
		p++;
	else if (p < len && s[p] >= '1' && s[p] <= '9')
		p = valid_json_digits(s, len, p);
	else
		return false;
	if (p < len && s[p] == '.') {
		if ((q = valid_json_digits(s, len, p + 1)) == p + 1)
			return false;
		p = q;
	}
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		if (++p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		if ((q = valid_json_digits(s, len, p)) == p)
			return false;
		p = q;
	}
	*i = p;
	return true;
}

/* A string, number or literal at s[*i]; *i moves past it. */
static bool
valid_json_scalar(const char *s, size_t len, size_t *i)
{
	static const char *const words[] = { "true", "false", "null" };

	if (s[*i] == '"')
		return valid_json_string(s, len, i);
	if (s[*i] == '-' || (s[*i] >= '0' && s[*i] <= '9'))
		return valid_json_number(s, len, i);
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t n = strlen(words[w]);

		if (len - *i >= n && memcmp(s + *i, words[w], n) == 0) {
			*i += n;
			return true;
		}
	}
	return false;
}

/* An object member's name and colon at s[*i]; *i moves past the colon. */
static bool
valid_json_name(const char *s, size_t len, size_t *i)
{
	*i = valid_json_ws(s, len, *i);
	if (*i >= len || s[*i] != '"' || !valid_json_string(s, len, i))
		return false;
	*i = valid_json_ws(s, len, *i);
	if (*i >= len || s[*i] != ':')
		return false;
	(*i)++;
	return true;
}

bool
valid_json(const char *s, size_t len, int max_depth)
{
	uint64_t	 objects = 0;	/* bit d: the container at depth d is an object */
	int		 depth = 0;
	size_t		 i = 0;

	if (max_depth > VALID_JSON_DEPTH_MAX)
		max_depth = VALID_JSON_DEPTH_MAX;
	for (;;) {
		/* A value. */
		i = valid_json_ws(s, len, i);
		if (i >= len)
			return false;
		if (s[i] == '{' || s[i] == '[') {
			bool obj = s[i] == '{';

			if (depth >= max_depth)
				return false;
			if (obj)
				objects |= UINT64_C(1) << depth;
			else
				objects &= ~(UINT64_C(1) << depth);
			depth++;
			i = valid_json_ws(s, len, i + 1);
			if (i < len && s[i] == (obj ? '}' : ']')) {
				depth--;
				i++;
			} else {
				if (obj && !valid_json_name(s, len, &i))
					return false;
				continue;
			}
		} else if (!valid_json_scalar(s, len, &i))
			return false;

		/* After it: the next one, the ends of containers, the end. */
		for (;;) {
			bool obj;

			i = valid_json_ws(s, len, i);
			if (depth == 0)
				return i == len;
			if (i >= len)
				return false;
			obj = (objects >> (depth - 1) & 1) != 0;
			if (s[i] == ',') {
				i++;
				if (obj && !valid_json_name(s, len, &i))
					return false;
				break;
			}
			if (s[i] != (obj ? '}' : ']'))
				return false;
			depth--;
			i++;
		}
	}
}
