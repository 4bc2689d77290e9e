/*
 * personas.c: the persona list. One query authenticates and reads the
 * page; the answer warms the shared cache (the session and every completed
 * video URL), so that the gallery's idle-video requests need no database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "personas.h"
#include "valid.h"
#include "video.h"

/* Columns of DB_PERSONAS_LIST (schema/postgres.sql, personas_page). */
enum {
	COL_USER_ID,
	COL_EXPIRES,
	COL_PERSONA_ID,
	COL_NAME,
	COL_VIDEO_URL,
	COL_JOB_STATUS,
};

static const char *
personas_text(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

bool
personas_params(const struct http_request *req, struct http_response *resp,
    long long *limit, char after[VALID_UUID_LEN + 1], bool *has_after)
{
	char	 buf[64];
	int	 rc;

	*limit = PERSONAS_LIMIT_DEFAULT;
	*has_after = false;
	rc = http_query_get(req->query, "limit", buf, sizeof(buf));
	if (rc < 0 || (rc == 1 && !valid_int(buf, 1, PERSONAS_LIMIT_MAX,
	    limit))) {
		http_error(resp, API_BAD_REQUEST,
		    "limit must be an integer from 1 to 1000.");
		return false;
	}
	rc = http_query_get(req->query, "after", buf, sizeof(buf));
	if (rc < 0 || (rc == 1 && !valid_uuid(buf, strlen(buf), after))) {
		http_error(resp, API_BAD_REQUEST,
		    "after must be a persona id (a UUID).");
		return false;
	}
	*has_after = rc == 1;
	return true;
}

/*
 * Copies the session and the completed URLs of this page into the cache,
 * in one transaction. A cache that cannot take them changes nothing.
 */
static void
personas_warm(struct app *app, PGresult *res, int rows,
    const unsigned char hash[AUTH_HASH_LEN], const char *user_id,
    int64_t expires)
{
	int64_t	 now = clock_unix_s();
	bool	 ok = true;

	if (!app->cfg->cache_sessions && !app->cfg->cache_urls)
		return;
	if (!cache_begin(app->cache))
		return;
	if (app->cfg->cache_sessions)
		ok = cache_put_session(app->cache, hash, user_id, expires,
		    now + app->cfg->session_ttl_s);
	for (int i = 0; ok && app->cfg->cache_urls && i < rows; i++) {
		const char *url = personas_text(res, i, COL_VIDEO_URL);

		if (url != NULL)
			ok = cache_put_video(app->cache,
			    PQgetvalue(res, i, COL_PERSONA_ID), user_id, url,
			    now);
	}
	(void)cache_end(app->cache, ok);
}

void
personas_handle(struct app *app, const struct http_request *req,
    struct http_response *resp)
{
	unsigned char	 hash[AUTH_HASH_LEN];
	char		 after[VALID_UUID_LEN + 1], limbuf[24];
	long long	 limit;
	bool		 has_after;
	PGresult	*res = NULL;
	enum db_status	 st;
	json_object	*root, *list;
	int		 rows;

	if (!app_authenticate(req, resp, hash) ||
	    !personas_params(req, resp, &limit, after, &has_after))
		return;

	/* One row more than the page tells whether there is a next page. */
	snprintf(limbuf, sizeof(limbuf), "%lld", limit + 1);
	{
		const char *const values[] = { (const char *)hash,
		    has_after ? after : NULL, limbuf };
		const int lengths[] = { AUTH_HASH_LEN, 0, 0 };

		st = db_exec(app->db, DB_PERSONAS_LIST, values, lengths, &res);
	}
	resp->source = "db";
	if (st != DB_OK) {
		app_db_failed(resp, st);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		app_unauthorized(app, resp, hash);
		return;
	}

	/* A single row with a NULL persona is an empty page. */
	rows = PQntuples(res);
	if (rows == 1 && PQgetisnull(res, 0, COL_PERSONA_ID))
		rows = 0;
	root = json_object_new_object();
	list = json_object_new_array_ext(rows);
	if (root == NULL || list == NULL) {
		json_object_put(root);
		json_object_put(list);
		PQclear(res);
		http_error(resp, API_INTERNAL, "Out of memory.");
		return;
	}
	for (int i = 0; i < rows && i < limit; i++) {
		const char	*url = personas_text(res, i, COL_VIDEO_URL);
		json_object	*p = json_object_new_object();
		json_object	*v = json_object_new_object();

		json_object_object_add(v, "status", json_object_new_string(
		    video_status_name(video_status_of(url,
		    personas_text(res, i, COL_JOB_STATUS)))));
		json_object_object_add(v, "videoUrl",
		    url != NULL ? json_object_new_string(url) : NULL);
		json_object_object_add(p, "id", json_object_new_string(
		    PQgetvalue(res, i, COL_PERSONA_ID)));
		json_object_object_add(p, "name", json_object_new_string(
		    PQgetvalue(res, i, COL_NAME)));
		json_object_object_add(p, "idleVideo", v);
		json_object_array_add(list, p);
	}
	json_object_object_add(root, "personas", list);
	json_object_object_add(root, "next", rows > limit ?
	    json_object_new_string(PQgetvalue(res, (int)limit - 1,
	    COL_PERSONA_ID)) : NULL);

	personas_warm(app, res, rows > limit ? (int)limit : rows, hash,
	    PQgetvalue(res, 0, COL_USER_ID),
	    strtoll(PQgetvalue(res, 0, COL_EXPIRES), NULL, 10));
	PQclear(res);
	http_ok(resp, 200, root);
}
