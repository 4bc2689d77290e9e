/*
 * persona.c: one persona's state from PostgreSQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "persona.h"

/*
 * Columns of DB_IDLE_VIDEO_GET (schema/postgres.sql, idle_video_state): the
 * job's are the persona's latest job's, also when it has a video.
 */
enum {
	COL_USER_ID,
	COL_EXPIRES,
	COL_PERSONA_ID,
	COL_VIDEO_URL,
	COL_JOB_ID,
	COL_JOB_STATUS,
	COL_JOB_PREDICTION,
	COL_JOB_UPDATED,
};

/* Copies a column (NULL as "") into dst; a value that does not fit is "". */
static void
persona_copy(PGresult *res, int col, char *dst, size_t dstsz)
{
	const char	*v = PQgetvalue(res, 0, col);
	size_t		 len = (size_t)PQgetlength(res, 0, col);

	if (PQgetisnull(res, 0, col) || len >= dstsz)
		len = 0;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

enum db_status
persona_state_get(struct app *app, const unsigned char hash[AUTH_HASH_LEN],
    const char *persona_id, bool session_cached, struct persona_state *out)
{
	const char *const values[] = { (const char *)hash, persona_id };
	const int	 lengths[] = { AUTH_HASH_LEN, 0 };
	PGresult	*res;
	enum db_status	 st;

	memset(out, 0, sizeof(*out));
	if ((st = db_exec(app->db, DB_IDLE_VIDEO_GET, values, lengths,
	    &res)) != DB_OK)
		return st;
	if (PQntuples(res) == 1) {
		out->authenticated = true;
		persona_copy(res, COL_USER_ID, out->user_id,
		    sizeof(out->user_id));
		if (app->cfg->cache_sessions && !session_cached)
			(void)cache_put_session(app->cache, hash, out->user_id,
			    strtoll(PQgetvalue(res, 0, COL_EXPIRES), NULL, 10),
			    clock_unix_s() + app->cfg->session_ttl_s);
		out->found = !PQgetisnull(res, 0, COL_PERSONA_ID);
		persona_copy(res, COL_VIDEO_URL, out->video_url,
		    sizeof(out->video_url));
		/* A persona with a video has no job to tell of. */
		if (PQgetisnull(res, 0, COL_VIDEO_URL)) {
			persona_copy(res, COL_JOB_ID, out->job_id,
			    sizeof(out->job_id));
			persona_copy(res, COL_JOB_STATUS, out->job_status,
			    sizeof(out->job_status));
			persona_copy(res, COL_JOB_PREDICTION,
			    out->job_prediction, sizeof(out->job_prediction));
			out->job_updated_at = strtoll(PQgetvalue(res, 0,
			    COL_JOB_UPDATED), NULL, 10);
		}
	}
	PQclear(res);
	return DB_OK;
}
