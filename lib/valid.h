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

#endif /* VALID_H */
