/*
 * Unit tests of lib/cache.c against real SQLite files in a temporary
 * folder: lookups, expiry, two handles on one file, transactions, and
 * repair of a broken or removed file.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cache.h"
#include "fixture.h"
#include "log.h"

#define USER_A	"aaaaaaaa-0000-4000-8000-000000000001"
#define USER_B	"bbbbbbbb-0000-4000-8000-000000000002"
#define PERSONA	"cccccccc-0000-4000-8000-000000000003"

static unsigned char hash_a[AUTH_HASH_LEN] = { 1, 2, 3 };

static int
setup(void **state)
{
	return (*state = scratch_new("cache.sqlite")) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return scratch_free(*state);
}

static void
test_cache_session_states(void **state)
{
	struct scratch *f = *state;
	struct cache *c = cache_open(f->path, 1000);
	struct cache_entry e;
	int64_t now = 1000000;

	assert_non_null(c);
	assert_true(cache_lookup(c, hash_a, PERSONA, now, &e));
	assert_int_equal(e.session, CACHE_SESSION_UNKNOWN);
	assert_false(e.has_video);

	assert_true(cache_put_session(c, hash_a, USER_A, now + 100, now + 10));
	assert_true(cache_lookup(c, hash_a, NULL, now, &e));
	assert_int_equal(e.session, CACHE_SESSION_VALID);
	assert_string_equal(e.user_id, USER_A);
	/* The copy is too old: unknown, not expired. */
	assert_true(cache_lookup(c, hash_a, NULL, now + 10, &e));
	assert_int_equal(e.session, CACHE_SESSION_UNKNOWN);
	/* The session itself has expired. */
	assert_true(cache_lookup(c, hash_a, NULL, now + 100, &e));
	assert_int_equal(e.session, CACHE_SESSION_EXPIRED);
	/* cached_until never outlives the session. */
	assert_true(cache_put_session(c, hash_a, USER_A, now + 5, now + 60));
	assert_true(cache_lookup(c, hash_a, NULL, now + 5, &e));
	assert_int_equal(e.session, CACHE_SESSION_EXPIRED);
	cache_close(c);
}

static void
test_cache_video_and_job_shared(void **state)
{
	struct scratch *f = *state;
	struct cache *w1 = cache_open(f->path, 1000);
	struct cache *w2 = cache_open(f->path, 1000);
	struct cache_entry e;

	assert_true(cache_put_job(w1, PERSONA, USER_B, "dddddddd-0000-4000-8000-000000000004",
	    NULL, "processing", 5));
	assert_true(cache_lookup(w2, hash_a, PERSONA, 5, &e));
	assert_true(e.has_job);
	assert_string_equal(e.job_owner, USER_B);
	assert_string_equal(e.job_status, "processing");

	assert_true(cache_put_video(w1, PERSONA, USER_B, "/media/idle/x.mp4", 6));
	assert_true(cache_put_job(w1, PERSONA, USER_B,
	    "dddddddd-0000-4000-8000-000000000004", NULL, "succeeded", 6));
	/* A late poll's copy of the job as active does not bring it back... */
	assert_true(cache_put_job(w2, PERSONA, USER_B,
	    "dddddddd-0000-4000-8000-000000000004", NULL, "processing", 7));
	assert_true(cache_lookup(w2, hash_a, PERSONA, 6, &e));
	assert_true(e.has_video);
	assert_string_equal(e.job_status, "succeeded");
	/* ... but a new job of the persona is news. */
	assert_true(cache_put_job(w2, PERSONA, USER_B,
	    "eeeeeeee-0000-4000-8000-000000000005", "pred2", "starting", 8));
	assert_true(cache_lookup(w1, hash_a, PERSONA, 8, &e));
	assert_string_equal(e.job_status, "starting");
	assert_string_equal(e.job_prediction, "pred2");
	assert_string_equal(e.video_owner, USER_B);
	assert_string_equal(e.video_url, "/media/idle/x.mp4");
	cache_close(w1);
	cache_close(w2);
}

static void
test_cache_transaction_rollback(void **state)
{
	struct scratch *f = *state;
	struct cache *c = cache_open(f->path, 1000);
	struct cache_entry e;

	assert_true(cache_begin(c));
	assert_true(cache_put_video(c, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_false(cache_end(c, false));
	assert_true(cache_lookup(c, hash_a, PERSONA, 1, &e));
	assert_false(e.has_video);
	assert_true(cache_begin(c));
	assert_true(cache_put_video(c, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_true(cache_end(c, true));
	assert_true(cache_lookup(c, hash_a, PERSONA, 1, &e));
	assert_true(e.has_video);
	cache_close(c);
}

static void
test_cache_broken_file_is_recreated(void **state)
{
	struct scratch *f = *state;
	struct cache *c;
	struct cache_entry e;
	FILE *fp = fopen(f->path, "w");
	char cmd[256];

	assert_non_null(fp);
	for (int i = 0; i < 4096; i++)
		fputs("this is not a database ", fp);
	fclose(fp);
	log_init("test-cache", LOG_ERROR);	/* the warnings are expected */
	c = cache_open(f->path, 1000);
	assert_true(cache_usable(c));
	assert_true(cache_put_video(c, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_true(cache_lookup(c, hash_a, PERSONA, 1, &e));
	assert_true(e.has_video);
	cache_close(c);
	/* The broken file was set aside, not deleted. */
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q 'cache.sqlite.broken-'",
	    f->dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * Only the main file removed (rm cache.sqlite), its -wal and -shm left
 * behind while two workers hold it: the new file must not take the old
 * log for its own, and both workers end up on the same new file.
 */
static void
test_cache_removed_file_without_its_wal(void **state)
{
	struct scratch *f = *state;
	struct cache *a = cache_open(f->path, 1000);
	struct cache *b = cache_open(f->path, 1000);
	struct cache_entry e;
	char cmd[256];

	log_init("test-cache", LOG_ERROR);
	assert_true(cache_put_video(a, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_true(cache_put_session(b, hash_a, USER_A, 100, 100));
	assert_int_equal(unlink(f->path), 0);
	sleep(1);	/* the file is re-checked at most once a second */
	usleep(100000);
	assert_true(cache_lookup(a, hash_a, PERSONA, 1, &e));
	assert_false(e.has_video);		/* a fresh, empty cache */
	assert_int_equal(e.session, CACHE_SESSION_UNKNOWN);
	assert_true(cache_put_video(a, PERSONA, USER_B, "/media/b.mp4", 2));
	assert_true(cache_lookup(b, hash_a, PERSONA, 1, &e));
	assert_true(e.has_video);		/* b found a's new file */
	assert_string_equal(e.video_url, "/media/b.mp4");
	cache_close(a);
	cache_close(b);
	snprintf(cmd, sizeof(cmd), "test \"$(sqlite3 '%s' 'PRAGMA integrity_check')\" = ok",
	    f->path);
	assert_int_equal(system(cmd), 0);
}

static void
test_cache_removed_file_is_recreated(void **state)
{
	struct scratch *f = *state;
	struct cache *c = cache_open(f->path, 1000);
	struct cache_entry e;
	struct stat sb;
	char p[160];

	assert_true(cache_put_video(c, PERSONA, USER_A, "/media/a.mp4", 1));
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	sleep(1);	/* the file is re-checked at most once a second */
	usleep(100000);
	log_init("test-cache", LOG_ERROR);
	assert_true(cache_lookup(c, hash_a, PERSONA, 1, &e));
	assert_false(e.has_video);		/* a fresh, empty cache */
	assert_int_equal(stat(f->path, &sb), 0);
	assert_true(cache_put_video(c, PERSONA, USER_A, "/media/a.mp4", 1));
	cache_close(c);
}

/*
 * The file damaged in place (same inode) while three workers hold it, one
 * of them idle: truncated to 0 bytes, or written over. The idle one's
 * handle keeps the old log's locks, so the file is set aside and a new
 * one made, rather than waited on; the busy ones end up on the new file.
 */
static void
damaged_in_place(struct scratch *f, bool cut)
{
	struct cache *a = cache_open(f->path, 500);
	struct cache *b = cache_open(f->path, 500);
	struct cache *idle = cache_open(f->path, 500);
	struct cache_entry e;
	struct stat before, after;
	char junk[8192], cmd[256];
	FILE *fp;

	log_init("test-cache", LOG_ERROR);
	assert_true(cache_put_video(a, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_true(cache_lookup(b, hash_a, PERSONA, 1, &e));
	assert_true(e.has_video);
	assert_true(cache_usable(idle));
	assert_int_equal(stat(f->path, &before), 0);
	if (cut)
		assert_int_equal(truncate(f->path, 0), 0);
	else {
		memset(junk, 0x5a, sizeof(junk));
		assert_non_null(fp = fopen(f->path, "r+"));
		assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
		fclose(fp);
	}
	sleep(1);	/* the file is re-checked at most once a second */
	usleep(100000);
	assert_true(cache_lookup(a, hash_a, PERSONA, 1, &e));
	assert_false(e.has_video);		/* a fresh, empty cache */
	assert_int_equal(stat(f->path, &after), 0);
	assert_true(after.st_ino != before.st_ino);
	assert_true(cache_put_video(a, PERSONA, USER_B, "/media/b.mp4", 2));
	assert_true(cache_lookup(b, hash_a, PERSONA, 1, &e));
	assert_true(e.has_video);		/* b found a's new file */
	assert_string_equal(e.video_url, "/media/b.mp4");
	cache_close(a);
	cache_close(b);
	cache_close(idle);
	snprintf(cmd, sizeof(cmd), "test \"$(sqlite3 '%s' 'PRAGMA integrity_check')\" = ok",
	    f->path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q 'cache.sqlite.broken-'",
	    f->dir);
	assert_int_equal(system(cmd), 0);	/* set aside, not deleted */
}

static void
test_cache_truncated_in_place(void **state)
{
	damaged_in_place(*state, true);
}

static void
test_cache_written_over_in_place(void **state)
{
	damaged_in_place(*state, false);
}

/*
 * The memo: a lookup asked again is answered without SQLite, and gives
 * what the file holds now, whoever wrote it since.
 */
static void
test_cache_memo_answers_again(void **state)
{
	struct scratch *f = *state;
	struct cache *a = cache_open(f->path, 1000);
	struct cache *b = cache_open(f->path, 1000);
	struct cache_entry e;
	unsigned long hits;

	assert_true(cache_put_session(a, hash_a, USER_A, 100, 50));
	assert_true(cache_put_video(a, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_true(cache_lookup(b, hash_a, PERSONA, 1, &e));
	hits = cache_memo_hits(b);
	memset(&e, 0x5a, sizeof(e));
	assert_true(cache_lookup(b, hash_a, PERSONA, 1, &e));
	assert_int_equal(cache_memo_hits(b), hits + 1);
	assert_int_equal(e.session, CACHE_SESSION_VALID);
	assert_string_equal(e.user_id, USER_A);
	assert_true(e.has_video);
	assert_string_equal(e.video_owner, USER_A);
	assert_string_equal(e.video_url, "/media/a.mp4");
	assert_false(e.has_job);
	/* Another key is another record. */
	assert_true(cache_lookup(b, hash_a, NULL, 1, &e));
	assert_int_equal(e.session, CACHE_SESSION_VALID);
	assert_false(e.has_video);
	assert_true(cache_lookup(b, hash_a, NULL, 1, &e));
	assert_int_equal(cache_memo_hits(b), hits + 2);
	assert_false(e.has_video);
	cache_close(a);
	cache_close(b);
}

static void
test_cache_memo_sees_other_writers(void **state)
{
	struct scratch *f = *state;
	struct cache *a = cache_open(f->path, 1000);
	struct cache *b = cache_open(f->path, 1000);
	struct cache_entry e;
	unsigned long hits;
	char cmd[512];

	assert_true(cache_put_session(a, hash_a, USER_A, 100, 50));
	assert_true(cache_put_video(a, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_true(cache_lookup(b, hash_a, PERSONA, 1, &e));
	assert_true(cache_lookup(b, hash_a, PERSONA, 1, &e));
	hits = cache_memo_hits(b);
	/* A new video replaces the URL (another worker, another row)... */
	assert_true(cache_put_video(a, PERSONA, USER_A, "/media/new.mp4", 2));
	assert_true(cache_lookup(b, hash_a, PERSONA, 2, &e));
	assert_string_equal(e.video_url, "/media/new.mp4");
	assert_int_equal(cache_memo_hits(b), hits);
	/* ... a revoked session is gone at once... */
	assert_true(cache_lookup(b, hash_a, PERSONA, 2, &e));
	assert_int_equal(e.session, CACHE_SESSION_VALID);
	assert_true(cache_forget_session(a, hash_a));
	assert_true(cache_lookup(b, hash_a, PERSONA, 2, &e));
	assert_int_equal(e.session, CACHE_SESSION_UNKNOWN);
	/* ... and so is a job that another process, not ours, wrote. */
	assert_true(cache_lookup(b, hash_a, PERSONA, 2, &e));
	assert_false(e.has_job);
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"INSERT INTO jobs VALUES"
	    " ('%s', '%s', 'j', NULL, 'processing', 3)\"", f->path, PERSONA,
	    USER_A);
	assert_int_equal(system(cmd), 0);
	assert_true(cache_lookup(b, hash_a, PERSONA, 3, &e));
	assert_true(e.has_job);
	assert_string_equal(e.job_status, "processing");
	/* A write of b's own is seen by b's next lookup. */
	assert_true(cache_put_job(b, PERSONA, USER_A, "j", NULL, "succeeded",
	    4));
	assert_true(cache_lookup(b, hash_a, PERSONA, 4, &e));
	assert_string_equal(e.job_status, "succeeded");
	cache_close(a);
	cache_close(b);
}

/* Times are compared on every lookup, the memo's answers too. */
static void
test_cache_memo_session_expires(void **state)
{
	struct scratch *f = *state;
	struct cache *c = cache_open(f->path, 1000);
	struct cache_entry e;
	unsigned long hits;
	int64_t now = 1000000;

	assert_true(cache_put_session(c, hash_a, USER_A, now + 100, now + 10));
	assert_true(cache_lookup(c, hash_a, PERSONA, now, &e));
	assert_int_equal(e.session, CACHE_SESSION_VALID);
	hits = cache_memo_hits(c);
	assert_true(cache_lookup(c, hash_a, PERSONA, now + 9, &e));
	assert_int_equal(e.session, CACHE_SESSION_VALID);
	/* The copy is too old: unknown (PostgreSQL is asked). */
	assert_true(cache_lookup(c, hash_a, PERSONA, now + 10, &e));
	assert_int_equal(e.session, CACHE_SESSION_UNKNOWN);
	/* The session itself has expired. */
	assert_true(cache_lookup(c, hash_a, PERSONA, now + 100, &e));
	assert_int_equal(e.session, CACHE_SESSION_EXPIRED);
	assert_string_equal(e.user_id, USER_A);
	assert_int_equal(cache_memo_hits(c), hits + 3);
	cache_close(c);
}

/* A removed file: the memo of the old one is forgotten with it. */
static void
test_cache_memo_file_replaced(void **state)
{
	struct scratch *f = *state;
	struct cache *a = cache_open(f->path, 1000);
	struct cache_entry e;
	unsigned long hits;

	log_init("test-cache", LOG_ERROR);
	assert_true(cache_put_session(a, hash_a, USER_A, 100, 50));
	assert_true(cache_put_video(a, PERSONA, USER_A, "/media/a.mp4", 1));
	assert_true(cache_lookup(a, hash_a, PERSONA, 1, &e));
	assert_true(cache_lookup(a, hash_a, PERSONA, 1, &e));
	hits = cache_memo_hits(a);
	assert_true(hits > 0);
	assert_int_equal(unlink(f->path), 0);
	sleep(1);	/* the file is re-checked at most once a second */
	usleep(100000);
	assert_true(cache_lookup(a, hash_a, PERSONA, 1, &e));
	assert_false(e.has_video);		/* a fresh, empty cache */
	assert_int_equal(e.session, CACHE_SESSION_UNKNOWN);
	assert_int_equal(cache_memo_hits(a), hits);
	cache_close(a);
}

/* More keys than the memo keeps: it starts afresh, answers stay right. */
static void
test_cache_memo_full(void **state)
{
	struct scratch *f = *state;
	struct cache *c = cache_open(f->path, 1000);
	struct cache_entry e;
	char id[VALID_UUID_LEN + 1], url[64];
	unsigned long hits;

	assert_true(cache_put_session(c, hash_a, USER_A, 100, 50));
	assert_true(cache_begin(c));
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "cccccccc-0000-4000-8000-%012d", i);
		snprintf(url, sizeof(url), "/media/%d.mp4", i);
		assert_true(cache_put_video(c, id, USER_A, url, 1));
	}
	assert_true(cache_end(c, true));
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			snprintf(id, sizeof(id), "cccccccc-0000-4000-8000-%012d",
			    i);
			snprintf(url, sizeof(url), "/media/%d.mp4", i);
			assert_true(cache_lookup(c, hash_a, id, 1, &e));
			assert_int_equal(e.session, CACHE_SESSION_VALID);
			assert_true(e.has_video);
			assert_string_equal(e.video_url, url);
		}
	/* The last one looked up is still kept. */
	hits = cache_memo_hits(c);
	assert_true(cache_lookup(c, hash_a, id, 1, &e));
	assert_string_equal(e.video_url, url);
	assert_int_equal(cache_memo_hits(c), hits + 1);
	cache_close(c);
}

static void
test_cache_unopenable_path_degrades(void **state)
{
	struct cache *c = cache_open("/nonexistent-dir/x/cache.sqlite", 100);
	struct cache_entry e;

	(void)state;
	log_init("test-cache", LOG_ERROR);
	assert_non_null(c);
	assert_false(cache_usable(c));
	assert_false(cache_lookup(c, hash_a, PERSONA, 1, &e));
	assert_int_equal(e.session, CACHE_SESSION_UNKNOWN);
	assert_false(cache_put_video(c, PERSONA, USER_A, "/m.mp4", 1));
	cache_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cache_session_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_video_and_job_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_transaction_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_broken_file_is_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_removed_file_is_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_removed_file_without_its_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_truncated_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_written_over_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_memo_answers_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_memo_sees_other_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_memo_session_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_memo_file_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_memo_full, setup, teardown),
		cmocka_unit_test(test_cache_unopenable_path_degrades),
	};
	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
