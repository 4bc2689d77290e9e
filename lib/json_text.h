/*
 * json_text.h: strings written as JSON text, byte for byte as json-c
 * writes them with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE.
 *
 * The answers of the hot paths (a video's state, a page of personas) have
 * fixed shapes: they are written as text, without building, serialising
 * and freeing a json-c tree per request (issue 12). json-c stays the
 * parser of everything we read, and the reference these are tested
 * against (tests/unit/test-json-text.c).
 */
#ifndef JSON_TEXT_H
#define JSON_TEXT_H

#include <stddef.h>

/* The length of s (len bytes) written as a JSON string, quotes included. */
size_t	json_text_len(const char *s, size_t len);

/*
 * Writes s (len bytes) as a JSON string, quotes included, at p, which has
 * room for json_text_len(s, len) bytes; returns the end.
 */
char	*json_text_put(char *p, const char *s, size_t len);

/* Writes a string literal that needs no escaping at p; returns the end. */
#define JSON_TEXT_LIT(p, lit)	\
	((char *)memcpy((p), (lit), sizeof(lit) - 1) + sizeof(lit) - 1)

#endif /* JSON_TEXT_H */
