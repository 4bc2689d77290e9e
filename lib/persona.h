/*
 * persona.h: what PostgreSQL says about one persona of the caller, in one
 * query that also authenticates (DB_IDLE_VIDEO_GET), or, for a session
 * the cache holds as valid, that checks only the owner (DB_PERSONA_GET).
 * Shared by the idle-video poll and the start of a generation.
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
 * Reads the persona's state into out. cached_user is the user of the
 * token's session when the cache holds it as valid (within SESSION_TTL_S,
 * the trust an answer from the cache has): then PostgreSQL checks only
 * that the persona is theirs. Otherwise (NULL) the session is checked in
 * the same query, and a valid one is copied into the cache. Returns the
 * query's status; on DB_OK, out->authenticated and out->found say what
 * to answer.
 */
enum db_status persona_state_get(struct app *,
    const unsigned char hash[AUTH_HASH_LEN], const char *persona_id,
    const char *cached_user, struct persona_state *out)
    MUSTCHECK;

#endif /* PERSONA_H */
