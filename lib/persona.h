/*
 * persona.h: what PostgreSQL says about one persona of the caller, in one
 * query that also authenticates (DB_IDLE_VIDEO_GET). Shared by the
 * idle-video poll and the start of a generation.
 */
#ifndef PERSONA_H
#define PERSONA_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "attr.h"

struct persona_state {
	bool	 authenticated;		/* the token has a valid session */
	char	 user_id[VALID_UUID_LEN + 1];
	bool	 found;			/* the persona exists and is the caller's */
	char	 video_url[CACHE_URL_MAX];	/* "" when there is none */
	char	 job_id[VALID_UUID_LEN + 1];	/* the latest job, "" if none */
	char	 job_status[CACHE_STATUS_MAX];
	char	 job_prediction[PREDICTION_ID_MAX];
	int64_t	 job_updated_at;		/* unix seconds */
};

/*
 * Reads the persona's state into out. A valid session is copied into the
 * cache unless the caller says the cache holds it already. Returns the
 * query's status; on DB_OK, out->authenticated and out->found say what
 * to answer.
 */
enum db_status persona_state_get(struct app *,
    const unsigned char hash[AUTH_HASH_LEN], const char *persona_id,
    bool session_cached, struct persona_state *out)
    MUSTCHECK;

#endif /* PERSONA_H */
