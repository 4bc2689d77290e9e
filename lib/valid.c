/*
 * valid.c: strict validators.
 */
#include <ctype.h>
#include <limits.h>

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
