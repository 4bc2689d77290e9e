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

#endif /* PERSONAS_H */
