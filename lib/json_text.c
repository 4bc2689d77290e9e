/*
 * json_text.c: strings written as JSON text, byte for byte as json-c
 * writes them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "json_text.h"

/*
 * For a page of 1000 personas, writing the text took 11M instructions of
 * the worker's 16M with a json-c tree (issue 12); this, under 1M.
 */

/*
 * Whether none of the 8 bytes of w needs escaping: none below 0x20, none
 * a quote or a backslash (bytes of 0x80 and up, UTF-8's, never do). Eight
 * bytes at a time, so that the usual string costs well under an
 * instruction per byte to measure and to copy.
 */
static bool
json_text_plain8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = ones << 7;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((w - ones * ' ') & ~w) | ((q - ones) & ~q) |
	    ((b - ones) & ~b)) & highs ? false : true;
}

/* The length of one byte written in a JSON string. */
static size_t
json_text_len1(unsigned char c)
{
	if (c >= ' ' && c != '"' && c != '\\')
		return 1;
	if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' ||
	    c == '\r' || c == '\t')
		return 2;
	return 6;		/* \u00XX */
}

/* The length of s (len bytes) written as a JSON string, quotes included. */
size_t
json_text_len(const char *s, size_t len)
{
	size_t	 n = 2, i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (json_text_plain8(w)) {
			n += 8;
			continue;
		}
		for (size_t j = i; j < i + 8; j++)
			n += json_text_len1((unsigned char)s[j]);
	}
	for (; i < len; i++)
		n += json_text_len1((unsigned char)s[i]);
	return n;
}

/* Writes one byte of a JSON string at p; returns the end. */
static char *
json_text_put1(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (c >= ' ' && c != '"' && c != '\\') {
		*p++ = (char)c;
		return p;
	}
	*p++ = '\\';
	switch (c) {
	case '"':	*p++ = '"'; break;
	case '\\':	*p++ = '\\'; break;
	case '\b':	*p++ = 'b'; break;
	case '\f':	*p++ = 'f'; break;
	case '\n':	*p++ = 'n'; break;
	case '\r':	*p++ = 'r'; break;
	case '\t':	*p++ = 't'; break;
	default:
		*p++ = 'u';
		*p++ = '0';
		*p++ = '0';
		*p++ = hex[c >> 4];
		*p++ = hex[c & 0xf];
	}
	return p;
}

/* Writes s (len bytes) as a JSON string at p; returns the end. */
char *
json_text_put(char *p, const char *s, size_t len)
{
	size_t	 i = 0;

	*p++ = '"';
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (json_text_plain8(w)) {
			memcpy(p, &w, 8);
			p += 8;
			continue;
		}
		for (size_t j = i; j < i + 8; j++)
			p = json_text_put1(p, (unsigned char)s[j]);
	}
	for (; i < len; i++)
		p = json_text_put1(p, (unsigned char)s[i]);
	*p++ = '"';
	return p;
}
