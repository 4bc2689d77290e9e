/*
 * personas.c: the persona list. One query authenticates and reads the
 * page; the answer warms the shared cache (the session and every completed
 * video URL), so that the gallery's idle-video requests need no database.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json_text.h"
#include "log.h"
#include "personas.h"
#include "valid.h"
#include "video.h"

/*
 * Columns of DB_PERSONAS_LIST (schema/postgres.sql, personas_page): the
 * page's personas (user_id and expires NULL), then the session's row
 * (user_id and expires, the rest NULL). No row: no valid session.
 */
enum {
	COL_USER_ID,
	COL_EXPIRES,
	COL_PERSONA_ID,
	COL_NAME,
	COL_VIDEO_URL,
	COL_JOB_STATUS,
};

/*
 * Pages this worker copied into the cache lately, so that loading the same
 * list again does not copy it again (a write transaction, and about 3k
 * instructions per persona, for rows that are there already: URLs never
 * change, and a new one changes the page's key). An entry lasts half a
 * cached session's life, so that the session's copy is renewed while it
 * still has half its life left. If another worker set the cache file aside
 * meanwhile, the new file lacks the page until then: its idle videos are
 * answered from PostgreSQL, correctly, for those seconds.
 */
#define PERSONAS_MEMO	16

struct personas_memo {
	uint64_t	 key;		/* personas_page_key(); 0: free */
	int64_t		 until;		/* unix seconds */
};

static struct personas_memo	 personas_memo[PERSONAS_MEMO];

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

/* Mixes len bytes of p into h (FNV-1a, 64 bits). */
static uint64_t
personas_mix(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/*
 * What a page copies into the cache: the session (token hash, and owner
 * and expiry from row srow) and each of rows personas with its URL.
 * Never 0.
 */
static uint64_t
personas_page_key(PGresult *res, int rows, int srow,
    const unsigned char hash[AUTH_HASH_LEN])
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = personas_mix(h, hash, AUTH_HASH_LEN);
	for (int col = COL_USER_ID; col <= COL_EXPIRES; col++)
		h = personas_mix(h, PQgetvalue(res, srow, col),
		    (size_t)PQgetlength(res, srow, col) + 1);
	for (int i = 0; i < rows; i++) {
		if (PQgetisnull(res, i, COL_VIDEO_URL))
			continue;
		h = personas_mix(h, PQgetvalue(res, i, COL_PERSONA_ID),
		    (size_t)PQgetlength(res, i, COL_PERSONA_ID) + 1);
		h = personas_mix(h, PQgetvalue(res, i, COL_VIDEO_URL),
		    (size_t)PQgetlength(res, i, COL_VIDEO_URL) + 1);
	}
	return h != 0 ? h : 1;
}

/* The memo's entry for key, if it is still fresh. */
static bool
personas_memo_fresh(uint64_t key, int64_t now)
{
	for (int i = 0; i < PERSONAS_MEMO; i++)
		if (personas_memo[i].key == key)
			return personas_memo[i].until > now;
	return false;
}

/* Remembers key until until, in its own entry or the stalest one. */
static void
personas_memo_put(uint64_t key, int64_t until)
{
	int	 pick = 0;

	for (int i = 0; i < PERSONAS_MEMO; i++) {
		if (personas_memo[i].key == key) {
			pick = i;
			break;
		}
		if (personas_memo[i].until < personas_memo[pick].until)
			pick = i;
	}
	personas_memo[pick].key = key;
	personas_memo[pick].until = until;
}

/*
 * Copies the session (row srow) and the completed URLs of this page's rows
 * personas into the cache, in one transaction, unless this worker copied
 * the same lately. A cache that cannot take them changes nothing.
 */
static void
personas_warm(struct app *app, PGresult *res, int rows, int srow,
    const unsigned char hash[AUTH_HASH_LEN])
{
	const char *user_id = PQgetvalue(res, srow, COL_USER_ID);
	int64_t	 expires = strtoll(PQgetvalue(res, srow, COL_EXPIRES), NULL,
		    10);
	int64_t	 now = clock_unix_s();
	uint64_t key;
	bool	 ok = true;

	if (!app->cfg->cache_sessions && !app->cfg->cache_urls)
		return;
	key = personas_page_key(res, rows, srow, hash);
	if (personas_memo_fresh(key, now))
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
	if (cache_end(app->cache, ok))
		personas_memo_put(key, now + app->cfg->session_ttl_s / 2);
}

#define PERSONA_HEAD	"{\"id\":"
#define PERSONA_NAME	",\"name\":"
#define PERSONA_STATUS	",\"idleVideo\":{\"status\":\""
#define PERSONA_URL	"\",\"videoUrl\":"
#define PERSONA_END	"}}"
#define LIST_HEAD	"{\"personas\":["
#define LIST_NEXT	"],\"next\":"

/* The status of the page's row i (API.md). */
static const char *
personas_status(PGresult *res, int i)
{
	return video_status_name(video_status_of(personas_text(res, i,
	    COL_VIDEO_URL), personas_text(res, i, COL_JOB_STATUS)));
}

/*
 * The answer of API.md for rows 0..shown-1 of the page, next the id of the
 * last one when there is a next page: {"personas": [{"id", "name",
 * "idleVideo": {"status", "videoUrl"}}...], "next"}. Measured first, then
 * written into one allocation that the response takes over. Returns false
 * when out of memory.
 */
static bool
personas_answer(struct http_response *resp, PGresult *res, int shown,
    const char *next)
{
	size_t	 len = sizeof(LIST_HEAD) - 1 + sizeof(LIST_NEXT) - 1 +
		    (next != NULL ? json_text_len(next, strlen(next)) : 4) +
		    1;
	char	*text, *p;

	for (int i = 0; i < shown; i++) {
		const char *url = personas_text(res, i, COL_VIDEO_URL);

		len += sizeof(PERSONA_HEAD) - 1 + sizeof(PERSONA_NAME) - 1 +
		    sizeof(PERSONA_STATUS) - 1 + sizeof(PERSONA_URL) - 1 +
		    sizeof(PERSONA_END) - 1 + 1 +
		    json_text_len(PQgetvalue(res, i, COL_PERSONA_ID),
		    (size_t)PQgetlength(res, i, COL_PERSONA_ID)) +
		    json_text_len(PQgetvalue(res, i, COL_NAME),
		    (size_t)PQgetlength(res, i, COL_NAME)) +
		    strlen(personas_status(res, i)) + (url != NULL ?
		    json_text_len(url, (size_t)PQgetlength(res, i,
		    COL_VIDEO_URL)) : 4);
	}
	if ((text = malloc(len)) == NULL)
		return false;
	p = JSON_TEXT_LIT(text, LIST_HEAD);
	for (int i = 0; i < shown; i++) {
		const char *url = personas_text(res, i, COL_VIDEO_URL);
		const char *status = personas_status(res, i);
		size_t n = strlen(status);

		if (i > 0)
			*p++ = ',';
		p = JSON_TEXT_LIT(p, PERSONA_HEAD);
		p = json_text_put(p, PQgetvalue(res, i, COL_PERSONA_ID),
		    (size_t)PQgetlength(res, i, COL_PERSONA_ID));
		p = JSON_TEXT_LIT(p, PERSONA_NAME);
		p = json_text_put(p, PQgetvalue(res, i, COL_NAME),
		    (size_t)PQgetlength(res, i, COL_NAME));
		p = JSON_TEXT_LIT(p, PERSONA_STATUS);
		memcpy(p, status, n);
		p += n;
		p = JSON_TEXT_LIT(p, PERSONA_URL);
		p = url != NULL ? json_text_put(p, url, (size_t)PQgetlength(
		    res, i, COL_VIDEO_URL)) : JSON_TEXT_LIT(p, "null");
		p = JSON_TEXT_LIT(p, PERSONA_END);
	}
	p = JSON_TEXT_LIT(p, LIST_NEXT);
	p = next != NULL ? json_text_put(p, next, strlen(next)) :
	    JSON_TEXT_LIT(p, "null");
	*p++ = '}';
	http_text(resp, 200, NULL, text, (size_t)(p - text));
	return true;
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
	int		 rows, srow, shown;

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

	/* The personas, then the session's row. */
	srow = PQntuples(res) - 1;
	rows = srow;
	if (PQgetisnull(res, srow, COL_USER_ID) ||
	    !PQgetisnull(res, srow, COL_PERSONA_ID)) {
		log_warnx("personas: the page has no session row last");
		PQclear(res);
		http_error(resp, API_INTERNAL, "The database answered "
		    "unexpectedly.");
		return;
	}
	shown = rows > limit ? (int)limit : rows;
	if (!personas_answer(resp, res, shown, rows > limit ?
	    PQgetvalue(res, shown - 1, COL_PERSONA_ID) : NULL)) {
		PQclear(res);
		http_error(resp, API_INTERNAL, "Out of memory.");
		return;
	}
	personas_warm(app, res, shown, srow, hash);
	PQclear(res);
}
