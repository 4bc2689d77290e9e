/*
 * app.c: answers shared by the handlers.
 */
#include <stdio.h>

#include "app.h"

bool
app_authenticate(const struct http_request *req, struct http_response *resp,
    unsigned char hash[AUTH_HASH_LEN])
{
	const char	*tok;
	size_t		 len;

	if (!auth_bearer(req->authorization, &tok, &len)) {
		http_error(resp, API_UNAUTHORIZED, req->authorization == NULL ?
		    "Send the session token as: Authorization: Bearer <token>." :
		    "The session token is malformed.");
		return false;
	}
	if (!auth_hash(tok, len, hash)) {
		http_error(resp, API_INTERNAL, "Could not hash the token.");
		return false;
	}
	return true;
}

void
app_db_failed(struct http_response *resp, enum db_status st)
{
	char	 msg[160];

	snprintf(msg, sizeof(msg), "The database is unavailable (%s); "
	    "retry in a moment.", db_status_reason(st));
	http_error(resp, API_DB_UNAVAILABLE, msg);
	if (resp->body != NULL)
		json_object_object_add(resp->body, "reason",
		    json_object_new_string(db_status_reason(st)));
	resp->retry_after = 1;
}

void
app_video_answer(struct http_response *resp, int code, const char *status,
    const char *url, const char *job_id, const char *source)
{
	json_object	*o = json_object_new_object();

	if (o == NULL) {
		http_error(resp, API_INTERNAL, "Out of memory.");
		return;
	}
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "videoUrl",
	    url != NULL ? json_object_new_string(url) : NULL);
	json_object_object_add(o, "jobId",
	    job_id != NULL ? json_object_new_string(job_id) : NULL);
	if (source != NULL) {
		json_object_object_add(o, "source",
		    json_object_new_string(source));
		resp->source = source;
	}
	http_ok(resp, code, o);
}

void
app_method_not_allowed(struct http_response *resp, const char *allow)
{
	char	 msg[96];

	snprintf(msg, sizeof(msg), "This address accepts %s only.", allow);
	http_error(resp, API_METHOD_NOT_ALLOWED, msg);
	resp->allow = allow;
}
