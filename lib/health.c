/*
 * health.c: the worker's own view of what it can reach.
 */
#include "health.h"
#include "outbox.h"

void
health_handle(struct app *app, const struct http_request *req,
    struct http_response *resp)
{
	json_object	*o, *box;
	enum db_status	 st;
	PGresult	*res = NULL;
	bool		 cache_ok;
	struct outbox	*ob;
	int		 pending = -1, dead = -1;

	(void)req;
	cache_ok = cache_usable(app->cache);
	st = db_exec(app->db, DB_PING, NULL, NULL, &res);
	PQclear(res);
	/* The outbox is the webhook's; other workers open it to count. */
	if ((ob = app_outbox(app)) != NULL)
		(void)outbox_counts(ob, &pending, &dead);	/* -1: unknown */

	if ((o = json_object_new_object()) == NULL) {
		http_error(resp, API_INTERNAL, "Out of memory.");
		return;
	}
	json_object_object_add(o, "status", json_object_new_string(
	    cache_ok && st == DB_OK ? "ok" : "degraded"));
	json_object_object_add(o, "cache",
	    json_object_new_string(cache_ok ? "ok" : "unavailable"));
	json_object_object_add(o, "postgres",
	    json_object_new_string(db_status_reason(st)));
	if (pending >= 0 && (box = json_object_new_object()) != NULL) {
		json_object_object_add(box, "pending",
		    json_object_new_int(pending));
		json_object_object_add(box, "dead", json_object_new_int(dead));
		json_object_object_add(o, "outbox", box);
	} else
		json_object_object_add(o, "outbox",
		    json_object_new_string("unavailable"));
	http_ok(resp, cache_ok || st == DB_OK ? 200 : 503, o);
	if (!cache_ok && st != DB_OK)
		resp->retry_after = 1;
}
