/*
 * idle_video.h: /api/personas/{id}/idle-video.
 *
 * GET answers from the first of: the URL cache, an active job in the
 * cache, the quick check (X-Quick-Check: true, never PostgreSQL), and one
 * PostgreSQL query whose answer goes into the cache. The session and the
 * persona's owner are checked before anything is returned.
 */
#ifndef IDLE_VIDEO_H
#define IDLE_VIDEO_H

#include "app.h"

void	idle_video_handle(struct app *, const struct http_request *,
	    struct http_response *);

/*
 * The persona id of an idle-video path, lower-cased into id. Returns 1 for
 * a valid id, 0 when the path is not an idle-video path, -1 when it is one
 * with a malformed id.
 */
int	idle_video_route(const char *path, size_t len,
	    char id[VALID_UUID_LEN + 1]);

#endif /* IDLE_VIDEO_H */
