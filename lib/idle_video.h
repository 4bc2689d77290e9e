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

#endif /* IDLE_VIDEO_H */
