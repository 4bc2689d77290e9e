/*
 * valid.h: strict validators for values that come from outside.
 *
 * Each accepts only the canonical form, so that a value that passes means
 * one thing only (no spaces, signs or leading zeros where none belong).
 */
#ifndef VALID_H
#define VALID_H

#include <stdbool.h>
#include <stddef.h>

#define VALID_UUID_LEN	36	/* 8-4-4-4-12 hex digits and dashes */
#define VALID_JSON_DEPTH_MAX	64	/* the deepest nesting valid_json checks */

/*
 * A decimal integer in min..max: optional '-', digits, no leading zeros,
 * nothing else. Stores it in *out and returns true, or returns false.
 */
bool	valid_int(const char *s, long long min, long long max, long long *out);

/*
 * A UUID in its 36-character text form, either case. When out is not NULL,
 * writes the lower-case form there (VALID_UUID_LEN + 1 bytes).
 */
bool	valid_uuid(const char *s, size_t len, char *out);

/*
 * Whether s (len bytes) is well-formed UTF-8 without NUL: no overlong
 * forms, surrogates or code points above U+10FFFF.
 */
bool	valid_utf8(const char *s, size_t len);

/*
 * Copies len bytes of untrusted text from src to dst (dstsz > 0 bytes,
 * NUL-terminated) as well-formed UTF-8, for PostgreSQL: each ill-formed
 * sequence (its maximal subpart) and each NUL becomes U+FFFD, and when
 * dst is too small the copy stops before the first character that does
 * not fit whole. Returns the length written, without the NUL.
 */
size_t	valid_utf8_copy(char *dst, size_t dstsz, const char *src, size_t len);

/*
 * Whether s (len bytes) is exactly one JSON text as RFC 8259 defines it,
 * with at most max_depth (at most VALID_JSON_DEPTH_MAX) arrays and objects
 * nested: UTF-8 without NUL, and none of what json-c takes even in its
 * strict mode (NaN, Infinity, single-quoted names, control characters in
 * strings, "1.").
 */
bool	valid_json(const char *s, size_t len, int max_depth);

#endif /* VALID_H */
