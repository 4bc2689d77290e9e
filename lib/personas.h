/*
 * personas.h: GET /api/personas, the caller's personas with their idle
 * video, one page per request, in one PostgreSQL query.
 */
#ifndef PERSONAS_H
#define PERSONAS_H

#include "app.h"

#define PERSONAS_LIMIT_DEFAULT	100
#define PERSONAS_LIMIT_MAX	1000

void	personas_handle(struct app *, const struct http_request *,
	    struct http_response *);

/*
 * Reads the page parameters from req's query string: limit (1 to
 * PERSONAS_LIMIT_MAX, PERSONAS_LIMIT_DEFAULT when absent) and after (a
 * persona id, lower-cased into after; *has_after says whether it was
 * given). Returns false with a 400 in resp on a malformed query or value.
 * Exported for tests/fuzz/query.c; personas_handle is its only caller.
 */
bool	personas_params(const struct http_request *req,
	    struct http_response *resp, long long *limit,
	    char after[VALID_UUID_LEN + 1], bool *has_after);

#endif /* PERSONAS_H */
