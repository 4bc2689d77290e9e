/*
 * Unit tests of lib/outbox.c against real SQLite files: every add is
 * fsynced (counted by interposing fsync(2) and fdatasync(2), which
 * SQLite's unix VFS calls), claims, backoff, dead letters, a file that is
 * replaced under a worker, and the move from an old cache's outbox.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "fixture.h"
#include "log.h"
#include "outbox.h"

/* fsync and fdatasync calls on a -wal file since the last reset: commits. */
static int syncs;

int	fsync(int);
int	fdatasync(int);

static void
count_sync(int fd)
{
	char	 link[64], name[4096];
	ssize_t	 n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, name, sizeof(name) - 1)) > 4) {
		name[n] = '\0';
		if (strcmp(name + n - 4, "-wal") == 0)
			syncs++;
	}
}

int
fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	count_sync(fd);
	return real(fd);
}

int
fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	count_sync(fd);
	return real(fd);
}

static int
setup(void **state)
{
	return (*state = scratch_new("outbox.sqlite")) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return scratch_free(*state);
}

/*
 * The first add after an open is on disk before it returns, like every
 * later one: its commit syncs the log. The engine holds the file open, as
 * in a running stack (a handle that opens an existing log syncs nothing
 * else there, so only a commit can count).
 */
static void
test_outbox_add_is_fsynced(void **state)
{
	struct scratch	*f = *state;
	struct outbox	*engine, *o;

	assert_null(outbox_open(f->path, 1000, false));	/* workers never create */
	engine = outbox_open(f->path, 1000, true);
	assert_non_null(engine);
	assert_int_equal(outbox_add(engine, "msg_0", "p0", "succeeded",
	    "http://x/0.mp4", NULL, 99), OUTBOX_ADDED);

	o = outbox_open(f->path, 1000, false);
	assert_non_null(o);
	syncs = 0;
	assert_int_equal(outbox_add(o, "msg_1", "p1", "succeeded",
	    "http://x/1.mp4", NULL, 100), OUTBOX_ADDED);
	assert_true(syncs >= 1);
	syncs = 0;
	assert_int_equal(outbox_add(o, "msg_2", "p2", "failed", NULL, "boom",
	    100), OUTBOX_ADDED);
	assert_true(syncs >= 1);
	syncs = 0;
	assert_int_equal(outbox_add(o, "msg_1", "p1", "succeeded",
	    "http://x/1.mp4", NULL, 101), OUTBOX_DUPLICATE);
	outbox_close(o);
	outbox_close(engine);
}

static void
test_outbox_claim_later_bury_retry(void **state)
{
	struct scratch		*f = *state;
	struct outbox		*o = outbox_open(f->path, 1000, true);
	struct outbox_event	 ev, other;
	int			 pending, dead;

	assert_non_null(o);
	assert_int_equal(outbox_add(o, "a", "p1", "succeeded", "http://x/a",
	    NULL, 100), OUTBOX_ADDED);
	assert_int_equal(outbox_add(o, "b", "p2", "processing", NULL, NULL,
	    101), OUTBOX_ADDED);
	assert_false(outbox_claim(o, 99, 30, &ev));	/* nothing due yet */
	assert_true(outbox_claim(o, 200, 30, &ev));
	assert_string_equal(ev.webhook_id, "a");
	assert_string_equal(ev.output_url, "http://x/a");
	/* Leased: the next claim gets the other one, then nothing. */
	assert_true(outbox_claim(o, 200, 30, &other));
	assert_string_equal(other.webhook_id, "b");
	assert_false(outbox_claim(o, 200, 30, &other));

	snprintf(ev.video_url, sizeof(ev.video_url), "/media/a.mp4");
	assert_true(outbox_later(o, &ev, 210, true, "copy failed"));
	assert_true(outbox_claim(o, 210, 30, &ev));
	assert_string_equal(ev.webhook_id, "a");
	assert_int_equal(ev.attempts, 1);
	assert_string_equal(ev.video_url, "/media/a.mp4");
	assert_string_equal(ev.last_error, "copy failed");

	assert_true(outbox_bury(o, "a", 211, "gave up"));
	assert_true(outbox_done(o, "b", 211));
	assert_true(outbox_counts(o, &pending, &dead));
	assert_int_equal(pending, 0);
	assert_int_equal(dead, 1);
	assert_false(outbox_claim(o, 10000, 30, &ev));	/* the dead stay put */

	assert_false(outbox_retry(o, "b", 300));	/* not dead */
	assert_true(outbox_retry(o, "a", 300));
	assert_true(outbox_claim(o, 300, 30, &ev));
	assert_string_equal(ev.webhook_id, "a");
	assert_int_equal(ev.attempts, 0);
	outbox_close(o);
}

/* A worker never writes into a file that is not at the path any more. */
static void
test_outbox_replaced_file(void **state)
{
	struct scratch	*f = *state;
	struct outbox	*o = outbox_open(f->path, 1000, true);
	char		 moved[160];

	assert_non_null(o);
	snprintf(moved, sizeof(moved), "%s.moved", f->path);
	assert_int_equal(rename(f->path, moved), 0);
	assert_int_equal(outbox_add(o, "x", "p", "failed", NULL, NULL, 1),
	    OUTBOX_FAILED);
	assert_int_equal(rename(moved, f->path), 0);
	assert_int_equal(outbox_add(o, "x", "p", "failed", NULL, NULL, 1),
	    OUTBOX_ADDED);
	outbox_close(o);
}

static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
count_event(const struct outbox_event *ev, void *arg)
{
	(void)ev;
	(*(int *)arg)++;
}

/* Schema 2 of the cache kept the outbox: its pending events move over. */
static void
test_outbox_import_legacy(void **state)
{
	struct scratch	*f = *state;
	struct outbox	*o = outbox_open(f->path, 1000, true);
	char		 old[160];
	int		 n = 0;

	assert_non_null(o);
	snprintf(old, sizeof(old), "%s/cache.sqlite", f->dir);
	exec_sql(old, "CREATE TABLE outbox (webhook_id TEXT PRIMARY KEY,"
	    " prediction_id TEXT NOT NULL, status TEXT NOT NULL, output_url TEXT,"
	    " error TEXT, video_url TEXT, received_at INTEGER NOT NULL,"
	    " attempts INTEGER NOT NULL DEFAULT 0, next_try_at INTEGER NOT NULL,"
	    " done_at INTEGER);"
	    "INSERT INTO outbox VALUES ('w1','p1','succeeded','http://x/1',NULL,"
	    " NULL,1,0,1,NULL), ('w2','p2','failed',NULL,'e',NULL,1,0,1,NULL),"
	    " ('w3','p3','succeeded','http://x/3',NULL,NULL,1,0,1,5);");
	assert_int_equal(outbox_import_legacy(o, old, 50), 2);
	assert_int_equal(outbox_list(o, count_event, &n), 2);
	assert_int_equal(n, 2);
	/* The old table is gone: a second start moves nothing again. */
	assert_int_equal(outbox_import_legacy(o, old, 60), 0);
	outbox_close(o);
}

/*
 * Found by tests/fuzz/outbox.c: an event whose text did not fit struct
 * outbox_event read back cut to "", and one whose webhook id did so was
 * claimed again and again (no lease, no end). Such an event is refused
 * at the door, and left out of an import.
 */
static void
test_outbox_refuses_what_does_not_fit(void **state)
{
	struct scratch		*f = *state;
	struct outbox		*o = outbox_open(f->path, 1000, true);
	struct outbox_event	 ev;
	char			 longid[PREDICTION_ID_MAX + 1], old[160], sql[1024];
	char			 longstatus[PREDICTION_STATUS_MAX + 1];
	int			 pending, dead;

	assert_non_null(o);
	memset(longid, 'w', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	memset(longstatus, 's', sizeof(longstatus) - 1);
	longstatus[sizeof(longstatus) - 1] = '\0';
	assert_int_equal(outbox_add(o, longid, "p1", "failed", NULL, NULL, 100),
	    OUTBOX_FAILED);
	assert_int_equal(outbox_add(o, "w1", "p1", longstatus, NULL, NULL, 100),
	    OUTBOX_FAILED);
	assert_int_equal(outbox_add(o, NULL, "p1", "failed", NULL, NULL, 100),
	    OUTBOX_FAILED);
	longid[sizeof(longid) - 2] = '\0';	/* the longest that fits */
	assert_int_equal(outbox_add(o, longid, "p1", "failed", NULL, NULL, 100),
	    OUTBOX_ADDED);
	assert_true(outbox_claim(o, 200, 30, &ev));
	assert_string_equal(ev.webhook_id, longid);
	assert_false(outbox_claim(o, 200, 30, &ev));	/* leased */
	assert_true(outbox_done(o, longid, 200));

	/* The import leaves out what no event could hold, moves the rest. */
	snprintf(old, sizeof(old), "%s/cache.sqlite", f->dir);
	snprintf(sql, sizeof(sql), "CREATE TABLE outbox (webhook_id TEXT"
	    " PRIMARY KEY, prediction_id TEXT NOT NULL, status TEXT NOT NULL,"
	    " output_url TEXT, error TEXT, video_url TEXT, received_at INTEGER"
	    " NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try_at INTEGER"
	    " NOT NULL, done_at INTEGER);"
	    "INSERT INTO outbox VALUES (NULL,'p1','failed',NULL,NULL,NULL,1,0,1,"
	    " NULL), ('x%s','p2','failed',NULL,NULL,NULL,1,0,1,NULL),"
	    " ('w3','p3','failed',NULL,'e',NULL,1,0,1,NULL);", longid);
	exec_sql(old, sql);
	assert_int_equal(outbox_import_legacy(o, old, 300), 1);
	assert_true(outbox_counts(o, &pending, &dead));
	assert_int_equal(pending, 1);
	assert_true(outbox_claim(o, 300, 30, &ev));
	assert_string_equal(ev.webhook_id, "w3");
	assert_false(outbox_claim(o, 300, 30, &ev));
	outbox_close(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outbox_add_is_fsynced,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_claim_later_bury_retry,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_replaced_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_import_legacy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_outbox_refuses_what_does_not_fit, setup, teardown),
	};

	log_init("test-outbox", LOG_ERROR);
	return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
