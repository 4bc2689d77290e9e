/*
 * video_complete.c: the webhook endpoint (the work is in generation.c).
 */
#include <strings.h>

#include "generation.h"
#include "video_complete.h"

void
video_complete_handle(struct app *app, const struct http_request *req,
    struct http_response *resp)
{
	if (req->content_type == NULL ||
	    strncasecmp(req->content_type, "application/json", 16) != 0) {
		http_error(resp, API_BAD_REQUEST,
		    "The body must be application/json.");
		return;
	}
	generation_webhook(app, req, resp);
}
