/*
 * sqlite_text.h: a text column of an SQLite row, copied into a fixed
 * buffer, for the two SQLite files (cache.c, outbox.c).
 */
#ifndef SQLITE_TEXT_H
#define SQLITE_TEXT_H

#include <stddef.h>
#include <string.h>

#include <sqlite3.h>

/*
 * Copies column col of st into dst (dstsz bytes with the NUL). NULL, and
 * text that would not fit whole, come back as "": a cut value would be
 * another value (a cut id names something else).
 */
static inline void
sqlite_text_copy(sqlite3_stmt *st, int col, char *dst, size_t dstsz)
{
	const unsigned char	*s = sqlite3_column_text(st, col);
	size_t			 n = (size_t)sqlite3_column_bytes(st, col);

	if (s == NULL || n >= dstsz)
		n = 0;
	else
		memcpy(dst, s, n);
	dst[n] = '\0';
}

#endif /* SQLITE_TEXT_H */
