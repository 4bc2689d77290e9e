/*
 * video_complete.c: the webhook endpoint. Signature checking and the
 * durable outbox are not built yet: it answers 501 after the method and
 * route checks.
 */
#include <string.h>

#include "video_complete.h"

void
video_complete_handle(struct app *app, const struct http_request *req,
    struct http_response *resp)
{
	(void)app;
	if (req->pathlen != strlen("/api/video-complete") ||
	    memcmp(req->path, "/api/video-complete", req->pathlen) != 0) {
		http_error(resp, API_NOT_FOUND, "There is nothing here.");
		return;
	}
	resp->route = "/api/video-complete";
	if (req->method != HTTP_POST) {
		app_method_not_allowed(resp, "POST");
		return;
	}
	http_error(resp, API_NOT_IMPLEMENTED,
	    "Webhook processing is not available yet.");
}
