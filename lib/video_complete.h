/*
 * video_complete.h: POST /api/video-complete, the provider's webhook.
 */
#ifndef VIDEO_COMPLETE_H
#define VIDEO_COMPLETE_H

#include "app.h"

void	video_complete_handle(struct app *, const struct http_request *,
	    struct http_response *);

#endif /* VIDEO_COMPLETE_H */
