/*
 * outbox.c: libFuzzer harness of the outbox's stored events.
 *
 * The engine never parses bytes of its own: it reads each stored event
 * back from SQLite into a struct outbox_event (outbox_claim and
 * outbox_list, through outbox_row) and acts on those fields. What reaches
 * the store comes from two places: outbox_add (the webhook worker and the
 * reconciliation) and outbox_import_legacy, which moves the pending rows
 * of schema 2's outbox table, in an older cache file, whatever they hold.
 * A file of fuzz bytes opened as a database would fuzz SQLite's file
 * format, not our code, and slowly; so the harness fuzzes the rows
 * instead: it stores them through those two real functions into a real
 * outbox (a file in a scratch folder on tmpfs, held open like the engine
 * holds it), then claims and ends every event the way the engine's drain
 * does, with the same calls.
 *
 * Input: the first byte picks the door: even, outbox_add; odd, a legacy
 * table (schema 2's columns) in a fresh file, then outbox_import_legacy.
 * The rest is up to 4 rows, one a line; a row is fields cut at tabs:
 * webhook_id, prediction_id, status, output_url, error, and for a legacy
 * row done_at. A legacy field may be typed, as SQLite lets any column
 * hold any type: "~n" NULL, "~i123" an integer, "~r1.5" a real, "~b..." a
 * blob of the bytes after "~b"; else it is text, NUL bytes and all.
 *
 * Properties: outbox_add refuses only an event that would not read back
 * whole, and what it takes reads back the same; the import moves all or
 * nothing (a row no event could hold left out); every event claimed is leased (claiming again at the
 * same moment does not give it back) and can be ended (outbox_done), so
 * that after the drain nothing is pending; outbox_list sees what
 * outbox_counts counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fuzz.h"
#include "log.h"
#include "outbox.h"

#define ROWS_MAX	4
#define LEASE_S		60
#define DAY_S		86400

enum { C_WEBHOOK, C_PREDICTION, C_STATUS, C_OUTPUT, C_ERROR, C_DONE, C__MAX };

static struct outbox	*ob;
static char		 legacy_path[512];
static int64_t		 now = 1000000000;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 path[512];

	(void)argc;
	(void)argv;
	log_init("fuzz-outbox", LOG_ERROR);
	snprintf(path, sizeof(path), "%s/outbox.sqlite", fuzz_scratch());
	snprintf(legacy_path, sizeof(legacy_path), "%s/cache.sqlite",
	    fuzz_scratch());
	if ((ob = outbox_open(path, 1000, true)) == NULL)
		abort();
	return 0;
}

/* Binds a legacy field, typed as the input says. */
static void
bind_typed(sqlite3_stmt *st, int col, const char *s, size_t len)
{
	if (len >= 2 && s[0] == '~' && s[1] == 'n')
		sqlite3_bind_null(st, col);
	else if (len >= 2 && s[0] == '~' && s[1] == 'i')
		sqlite3_bind_int64(st, col, strtoll(s + 2, NULL, 10));
	else if (len >= 2 && s[0] == '~' && s[1] == 'r')
		sqlite3_bind_double(st, col, strtod(s + 2, NULL));
	else if (len >= 2 && s[0] == '~' && s[1] == 'b')
		sqlite3_bind_blob(st, col, s + 2, (int)(len - 2),
		    SQLITE_TRANSIENT);
	else
		sqlite3_bind_text(st, col, s, (int)len, SQLITE_TRANSIENT);
}

/*
 * Writes the rows as schema 2's outbox table in a fresh legacy file.
 * Returns how many are pending (done_at NULL), as the file has them.
 */
static int
write_legacy(struct fuzz_fields *rows, size_t nrows)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 pending = 0;

	(void)unlink(legacy_path);
	if (sqlite3_open(legacy_path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE outbox (webhook_id TEXT PRIMARY KEY,"
	    " prediction_id TEXT NOT NULL, status TEXT NOT NULL, output_url TEXT,"
	    " error TEXT, video_url TEXT, received_at INTEGER NOT NULL,"
	    " attempts INTEGER NOT NULL DEFAULT 0, next_try_at INTEGER NOT NULL,"
	    " done_at INTEGER)", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO outbox (webhook_id,"
	    " prediction_id, status, output_url, error, done_at, received_at,"
	    " next_try_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 1)", -1, &st,
	    NULL) != SQLITE_OK)
		abort();
	for (size_t r = 0; r < nrows; r++) {
		for (int c = 0; c < C__MAX; c++) {
			if (rows[r].field[c] != NULL)
				bind_typed(st, c + 1, rows[r].field[c],
				    rows[r].len[c]);
			else if (c == C_OUTPUT || c == C_ERROR || c == C_DONE)
				sqlite3_bind_null(st, c + 1);
			else
				sqlite3_bind_text(st, c + 1, "", 0, SQLITE_STATIC);
		}
		/* A row the old schema would refuse is not in the file. */
		(void)sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox"
	    " WHERE done_at IS NULL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		abort();
	pending = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return pending;
}

/* Whether the legacy file still has its outbox table. */
static bool
legacy_has_table(void)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	bool		 has;

	if (sqlite3_open_v2(legacy_path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master"
	    " WHERE name = 'outbox'", -1, &st, NULL) != SQLITE_OK)
		abort();
	has = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return has;
}

static void
count_event(const struct outbox_event *ev, void *arg)
{
	FUZZ_CHECK(memchr(ev->webhook_id, '\0', sizeof(ev->webhook_id)));
	(*(int *)arg)++;
}

/* Whether text (NULL as "") fits a field of size bytes. */
static bool
fits(const char *s, size_t size)
{
	return s == NULL || strlen(s) < size;
}

/* Whether a stored text field reads back as the text given. */
static bool
same(const char *got, const char *given)
{
	return strcmp(got, given != NULL ? given : "") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 lines, rows[ROWS_MAX];
	struct outbox_event	 ev;
	char			 seen[ROWS_MAX + 1][PREDICTION_ID_MAX];
	enum outbox_added	 added[ROWS_MAX];
	size_t			 nrows = 0, nseen = 0;
	int			 pending, dead, listed = 0, moved = 0;
	bool			 legacy;

	if (size == 0)
		return 0;
	legacy = data[0] & 1;
	now += 2 * DAY_S;	/* the last input's events are past keeping */
	FUZZ_CHECK(outbox_purge(ob, now));
	fuzz_fields(data + 1, size - 1, '\n', ROWS_MAX, &lines);
	for (size_t i = 0; i < lines.n; i++)
		fuzz_fields((const uint8_t *)lines.field[i], lines.len[i], '\t',
		    legacy ? C__MAX : C_DONE, &rows[nrows++]);

	if (legacy) {
		int want = write_legacy(rows, nrows);

		moved = outbox_import_legacy(ob, legacy_path, now);
		/* A row no event could hold is left out. */
		FUZZ_CHECK(moved >= -1 && moved <= want);
		/* All or nothing: a failed move leaves the old table. */
		FUZZ_CHECK(legacy_has_table() == (moved == -1));
	} else
		for (size_t r = 0; r < nrows; r++) {
			const char *const *c = (const char *const *)rows[r].field;

			added[r] = outbox_add(ob, c[C_WEBHOOK],
			    c[C_PREDICTION] != NULL ? c[C_PREDICTION] : "",
			    c[C_STATUS] != NULL ? c[C_STATUS] : "",
			    c[C_OUTPUT], c[C_ERROR], now);
			/* Refused only when it would not read back whole. */
			if (fits(c[C_WEBHOOK], sizeof(ev.webhook_id)) &&
			    fits(c[C_PREDICTION], sizeof(ev.prediction_id)) &&
			    fits(c[C_STATUS], sizeof(ev.status)) &&
			    fits(c[C_OUTPUT], sizeof(ev.output_url)) &&
			    fits(c[C_ERROR], sizeof(ev.error)))
				FUZZ_CHECK(added[r] != OUTBOX_FAILED);
		}

	FUZZ_CHECK(outbox_counts(ob, &pending, &dead));
	FUZZ_CHECK(outbox_list(ob, count_event, &listed) == listed);
	FUZZ_CHECK(listed == pending + dead && dead == 0);

	/* The engine's drain: claim, then end, until nothing is due. */
	while (outbox_claim(ob, now, LEASE_S, &ev)) {
		FUZZ_CHECK(memchr(ev.prediction_id, '\0',
		    sizeof(ev.prediction_id)) && memchr(ev.status, '\0',
		    sizeof(ev.status)) && memchr(ev.output_url, '\0',
		    sizeof(ev.output_url)) && memchr(ev.error, '\0',
		    sizeof(ev.error)));
		/* Leased: the same moment's next claim is another event. */
		for (size_t i = 0; i < nseen; i++)
			FUZZ_CHECK(strcmp(seen[i], ev.webhook_id) != 0);
		FUZZ_CHECK(nseen < ROWS_MAX);
		memcpy(seen[nseen++], ev.webhook_id, sizeof(ev.webhook_id));
		FUZZ_CHECK(ev.received_at == now && !ev.dead);

		/* What outbox_add stored reads back as it was given. */
		for (size_t r = 0; !legacy && r < nrows; r++) {
			const char *const *c = (const char *const *)rows[r].field;

			if (added[r] != OUTBOX_ADDED ||
			    !same(ev.webhook_id, c[C_WEBHOOK]))
				continue;
			FUZZ_CHECK(same(ev.prediction_id, c[C_PREDICTION]) &&
			    same(ev.status, c[C_STATUS]) &&
			    same(ev.output_url, c[C_OUTPUT]) &&
			    same(ev.error, c[C_ERROR]));
		}
		FUZZ_CHECK(outbox_done(ob, ev.webhook_id, now));
	}
	FUZZ_CHECK(outbox_counts(ob, &pending, &dead));
	FUZZ_CHECK(pending == 0 && dead == 0);

	for (size_t r = 0; r < nrows; r++)
		fuzz_fields_free(&rows[r]);
	fuzz_fields_free(&lines);
	return 0;
}
