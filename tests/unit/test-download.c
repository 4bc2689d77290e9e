/*
 * Unit tests of lib/download.c against a tiny HTTP server forked on
 * loopback: whole MP4 files only, within the size, time, speed and space
 * bounds, from allowed hosts only, and never a half-written or stray file.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clock.h"
#include "download.h"
#include "fixture.h"
#include "log.h"

#define VIDEO_LEN	2000

static pid_t	server_pid;
static int	server_port;
static char	video[10000];	/* starts like an MP4: size, "ftyp", brand */

#define MP4	"Content-Type: video/mp4\r\n"

/* Answers by the request line. */
static void
answer(int fd, const char *req)
{
	static char	 text[VIDEO_LEN];
	char		 loc[128];

	memset(text, 'X', sizeof(text));
	if (strncmp(req, "GET /ok.mp4 ", 12) == 0)
		httpd_reply(fd, "200 OK", MP4, video, VIDEO_LEN);
	else if (strncmp(req, "GET /text ", 10) == 0)
		httpd_reply(fd, "200 OK", MP4, text, sizeof(text));
	else if (strncmp(req, "GET /short ", 11) == 0)
		httpd_reply(fd, "200 OK", MP4, video, 6);
	else if (strncmp(req, "GET /empty ", 11) == 0)
		httpd_reply(fd, "200 OK", MP4, "", 0);
	else if (strncmp(req, "GET /big ", 9) == 0)
		httpd_reply(fd, "200 OK", MP4, video, sizeof(video));
	else if (strncmp(req, "GET /chunked ", 13) == 0) {
		const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
		    "chunked\r\nConnection: close\r\n\r\n";

		httpd_put(fd, h, strlen(h));
		for (size_t off = 0; off < sizeof(video); off += 1000) {
			httpd_put(fd, "3e8\r\n", 5);
			httpd_put(fd, video + off, 1000);
			httpd_put(fd, "\r\n", 2);
		}
		httpd_put(fd, "0\r\n\r\n", 5);
	} else if (strncmp(req, "GET /slow ", 10) == 0) {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n"
		    "Connection: close\r\n\r\n";

		httpd_put(fd, h, strlen(h));
		for (size_t off = 0; off < 4096; off += 1024) {
			httpd_put(fd, video + off, 1024);	/* 1 KiB/s */
			sleep(1);
		}
	} else if (strncmp(req, "GET /redirect ", 14) == 0) {
		snprintf(loc, sizeof(loc), "Location: http://127.0.0.2:%d"
		    "/ok.mp4\r\n", server_port);
		httpd_reply(fd, "302 Found", loc, "", 0);
	} else if (strncmp(req, "GET /busy ", 10) == 0)
		httpd_reply(fd, "503 Service Unavailable", MP4, "{}", 2);
	else if (strncmp(req, "GET /throttled ", 15) == 0)
		httpd_reply(fd, "429 Too Many Requests", MP4, "{}", 2);
	else if (strncmp(req, "GET /gone-big ", 14) == 0)
		httpd_reply(fd, "404 Not Found", MP4, video, sizeof(video));
	else
		httpd_reply(fd, "404 Not Found", MP4, "{}", 2);
}

static int
setup(void **state)
{
	(void)state;
	memset(video, 'v', sizeof(video));
	memcpy(video, "\0\0\0\x18" "ftypisom", 12);
	server_pid = httpd_start(answer, &server_port);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_init("test-download", LOG_ERROR);
	return server_pid > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	httpd_stop(server_pid);
	curl_global_cleanup();
	return 0;
}

/* A storage folder with tmp/ and media/ in it, and limits to use them. */
struct place {
	char			 root[64];
	char			 tmp[96];
	char			 media[96];
	char			 path[128];	/* media/v.mp4 */
	char			 api[64];
	struct download_limits	 lim;
};

static void
place_new(struct place *pl)
{
	snprintf(pl->root, sizeof(pl->root), "/tmp/fpl-download-XXXXXX");
	assert_non_null(mkdtemp(pl->root));
	snprintf(pl->tmp, sizeof(pl->tmp), "%s/tmp", pl->root);
	snprintf(pl->media, sizeof(pl->media), "%s/media", pl->root);
	snprintf(pl->path, sizeof(pl->path), "%s/v.mp4", pl->media);
	snprintf(pl->api, sizeof(pl->api), "http://127.0.0.1:%d", server_port);
	assert_int_equal(mkdir(pl->tmp, 0700), 0);
	assert_int_equal(mkdir(pl->media, 0755), 0);
	pl->lim = (struct download_limits){
		.media_hosts = NULL,
		.allowed_default = pl->api,
		.tmp_dir = pl->tmp,
		.connect_timeout_ms = 500,
		.timeout_s = 5,
		.max_bytes = 5000,
	};
}

/* Entries of a folder, but . and .. */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
place_free(struct place *pl)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pl->root);
	assert_int_equal(system(cmd), 0);
}

static enum download_status
copy(struct place *pl, const char *fmt)
{
	char url[256], why[256];

	snprintf(url, sizeof(url), fmt, server_port);
	return download_copy(url, pl->path, &pl->lim, why, sizeof(why));
}

/* The status of a copy that must leave nothing behind. */
static enum download_status
copy_fails(struct place *pl, const char *fmt)
{
	enum download_status st = copy(pl, fmt);
	struct stat sb;

	if (st == DOWNLOAD_OK)
		fail_msg("%s: copied", fmt);
	if (lstat(pl->path, &sb) == 0)
		fail_msg("%s: a file at the destination", fmt);
	if (entries(pl->tmp) != 0)
		fail_msg("%s: a leftover in tmp_dir", fmt);
	return st;
}

static void
test_download_status(void **state)
{
	(void)state;
	assert_string_equal(download_status_str(DOWNLOAD_OK), "ok");
	assert_string_equal(download_status_str(DOWNLOAD_NOT_VIDEO), "not video");
	assert_string_equal(download_status_str(DOWNLOAD__MAX), "?");
	assert_string_equal(download_status_str((enum download_status)-1), "?");
	for (int s = 0; s < DOWNLOAD__MAX; s++) {
		bool want = s == DOWNLOAD_FORBIDDEN_URL ||
		    s == DOWNLOAD_TOO_LARGE || s == DOWNLOAD_NOT_VIDEO;

		assert_int_equal(download_status_permanent(s), want);
		assert_string_not_equal(download_status_str(s), "?");
	}
}

static void
test_download_ok(void **state)
{
	struct place pl;
	struct stat sb;
	char got[VIDEO_LEN];
	int fd;

	(void)state;
	place_new(&pl);
	assert_int_equal(copy(&pl, "http://127.0.0.1:%d/ok.mp4"), DOWNLOAD_OK);
	assert_int_equal(lstat(pl.path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_size, VIDEO_LEN);
	assert_int_equal(sb.st_mode & 0137, 0);	/* at most 0640 */
	assert_true((fd = open(pl.path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), VIDEO_LEN);
	close(fd);
	assert_memory_equal(got, video, VIDEO_LEN);
	assert_int_equal(entries(pl.tmp), 0);

	/*
	 * Again, replacing the first copy whole: the scheme and the hosts
	 * of the list are case-insensitive.
	 */
	assert_int_equal(copy(&pl, "HTTP://127.0.0.1:%d/ok.mp4"), DOWNLOAD_OK);
	{
		char hosts[64];

		snprintf(hosts, sizeof(hosts), "example.com , LocalHost:%d",
		    server_port);
		pl.lim.media_hosts = hosts;
		assert_int_equal(copy(&pl, "http://localhost:%d/ok.mp4"),
		    DOWNLOAD_OK);
	}
	assert_int_equal(entries(pl.tmp), 0);
	assert_int_equal(entries(pl.media), 1);
	place_free(&pl);
}

static void
test_download_not_video(void **state)
{
	struct place pl;

	(void)state;
	place_new(&pl);
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/text"),
	    DOWNLOAD_NOT_VIDEO);
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/empty"),
	    DOWNLOAD_NOT_VIDEO);
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/short"),
	    DOWNLOAD_NOT_VIDEO);
	place_free(&pl);
}

static void
test_download_too_large(void **state)
{
	struct place pl;

	(void)state;
	place_new(&pl);
	/* Announced by Content-Length, then without any length. */
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/big"),
	    DOWNLOAD_TOO_LARGE);
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/chunked"),
	    DOWNLOAD_TOO_LARGE);
	pl.lim.max_bytes = 20000;
	assert_int_equal(copy(&pl, "http://127.0.0.1:%d/chunked"), DOWNLOAD_OK);
	unlink(pl.path);
	place_free(&pl);
}

static void
test_download_http_errors(void **state)
{
	struct place pl;

	(void)state;
	place_new(&pl);
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/missing"),
	    DOWNLOAD_REFUSED);
	/* The error page is not taken for a file, whatever its size. */
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/gone-big"),
	    DOWNLOAD_REFUSED);
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/busy"),
	    DOWNLOAD_UNAVAILABLE);
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/throttled"),
	    DOWNLOAD_UNAVAILABLE);
	/* Nobody listening on the allowed port. */
	pl.lim.allowed_default = "http://127.0.0.1:1";
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:1/ok.mp4?%d"),
	    DOWNLOAD_UNAVAILABLE);
	place_free(&pl);
}

static void
test_download_forbidden(void **state)
{
	static const struct {
		int		 line;
		const char	*hosts;		/* media_hosts, %d: our port */
		const char	*url;		/* %d: our port */
	} cases[] = {
		{ __LINE__, NULL, "http://127.0.0.1:%d/redirect" },
		{ __LINE__, NULL, "http://127.0.0.2:%d/ok.mp4" },
		{ __LINE__, NULL, "http://localhost:%d/ok.mp4" },
		{ __LINE__, NULL, "http://127.0.0.1:1/ok.mp4?%d" },
		{ __LINE__, NULL, "file:///etc/passwd?%d" },
		{ __LINE__, NULL, "gopher://127.0.0.1:%d/" },
		{ __LINE__, NULL, "ftp://127.0.0.1:%d/ok.mp4" },
		{ __LINE__, NULL, "//127.0.0.1:%d/ok.mp4" },
		{ __LINE__, NULL, "127.0.0.1:%d/ok.mp4" },
		{ __LINE__, NULL, "not a url %d" },
		{ __LINE__, NULL, "http://127.0.0.1:%d/ok.mp4 x" },
		/* Userinfo, which only disguises the host. */
		{ __LINE__, NULL, "http://127.0.0.1@127.0.0.2:%d/ok.mp4" },
		{ __LINE__, NULL, "http://user:pw@127.0.0.1:%d/ok.mp4" },
		{ __LINE__, NULL, "http://user@127.0.0.1:%d/ok.mp4" },
		{ __LINE__, NULL, "http://:pw@127.0.0.1:%d/ok.mp4" },
		/* The same address spelled as IPv6 is another host. */
		{ __LINE__, NULL, "http://[::ffff:127.0.0.1]:%d/ok.mp4" },
		{ __LINE__, NULL, "http://[::1]:%d/ok.mp4" },
		/* A list replaces the default. */
		{ __LINE__, "example.com", "http://127.0.0.1:%d/ok.mp4" },
		/* A host without port: only the scheme's default port. */
		{ __LINE__, "127.0.0.1", "http://127.0.0.1:%d/ok.mp4" },
		{ __LINE__, "127.0.0.1:1,127.0.0.2:%d", "http://127.0.0.1:%d/ok.mp4" },
		{ __LINE__, "user@127.0.0.1:%d", "http://127.0.0.1:%d/ok.mp4" },
		{ __LINE__, "127.0.0.1:%d/x", "http://127.0.0.1:%d/ok.mp4" },
		{ __LINE__, ",,", "http://127.0.0.1:%d/ok.mp4" },
		{ __LINE__, "127.0.0.1:%d", "http://127.0.0.1.nip.io:%d/ok.mp4" },
	};
	struct place pl;

	(void)state;
	place_new(&pl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char hosts[128], url[256], why[256];
		enum download_status st;
		struct stat sb;

		if (cases[i].hosts != NULL)
			snprintf(hosts, sizeof(hosts), cases[i].hosts,
			    server_port, server_port);
		pl.lim.media_hosts = cases[i].hosts == NULL ? NULL : hosts;
		snprintf(url, sizeof(url), cases[i].url, server_port);
		st = download_copy(url, pl.path, &pl.lim, why, sizeof(why));
		if (st != DOWNLOAD_FORBIDDEN_URL)
			fail_msg("line %d: %s: %s", cases[i].line, url,
			    download_status_str(st));
		if (lstat(pl.path, &sb) == 0 || entries(pl.tmp) != 0)
			fail_msg("line %d: left a file", cases[i].line);
	}
	/* The listed forms that do allow it. */
	{
		char hosts[128];

		snprintf(hosts, sizeof(hosts), "127.0.0.1:1,\t127.0.0.1:%d ",
		    server_port);
		pl.lim.media_hosts = hosts;
		assert_int_equal(copy(&pl, "http://127.0.0.1:%d/ok.mp4"),
		    DOWNLOAD_OK);
	}
	place_free(&pl);
}

static void
test_download_slow_is_bounded(void **state)
{
	struct place pl;
	int64_t t0;

	(void)state;
	place_new(&pl);
	pl.lim.low_speed_bps = 16384;
	pl.lim.low_speed_s = 1;
	t0 = clock_mono_us();
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/slow"),
	    DOWNLOAD_UNAVAILABLE);
	assert_true(clock_mono_us() - t0 < 3000000);

	/* And the total cap, without a speed bound. */
	pl.lim.low_speed_bps = 0;
	pl.lim.timeout_s = 1;
	t0 = clock_mono_us();
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/slow"),
	    DOWNLOAD_UNAVAILABLE);
	assert_true(clock_mono_us() - t0 < 2500000);
	place_free(&pl);
}

static void
test_download_no_space(void **state)
{
	struct place pl;

	(void)state;
	place_new(&pl);
	pl.lim.min_free_mb = LONG_MAX;
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/ok.mp4"),
	    DOWNLOAD_NO_SPACE);
	pl.lim.min_free_mb = 1L << 40;		/* an exbibyte */
	assert_int_equal(copy_fails(&pl, "http://127.0.0.1:%d/ok.mp4"),
	    DOWNLOAD_NO_SPACE);
	assert_false(download_status_permanent(DOWNLOAD_NO_SPACE));
	place_free(&pl);
}

static void
test_download_symlinks_and_cleanup(void **state)
{
	struct place pl;
	char target[160], link[160], leftover[160], keep[160], buf[16];
	struct stat sb;
	int fd;

	(void)state;
	place_new(&pl);
	snprintf(target, sizeof(target), "%s/target", pl.root);
	snprintf(link, sizeof(link), "%s/.dl-0000000000000000", pl.tmp);
	snprintf(leftover, sizeof(leftover), "%s/.dl-killed", pl.tmp);
	snprintf(keep, sizeof(keep), "%s/keep.txt", pl.tmp);
	assert_true((fd = open(target, O_WRONLY | O_CREAT, 0600)) >= 0);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(close(open(leftover, O_WRONLY | O_CREAT, 0600)), 0);
	assert_int_equal(close(open(keep, O_WRONLY | O_CREAT, 0600)), 0);

	/* A symlink in tmp_dir, or at the destination, is never written through. */
	assert_int_equal(symlink(target, pl.path), 0);
	assert_int_equal(copy(&pl, "http://127.0.0.1:%d/ok.mp4"), DOWNLOAD_OK);
	assert_int_equal(lstat(pl.path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(lstat(target, &sb), 0);
	assert_int_equal(sb.st_size, 8);

	/* Cleanup removes the ".dl-" entries, links themselves, nothing else. */
	assert_int_equal(download_cleanup(pl.tmp), 2);
	assert_int_equal(lstat(link, &sb), -1);
	assert_int_equal(lstat(leftover, &sb), -1);
	assert_int_equal(lstat(keep, &sb), 0);
	assert_true((fd = open(target, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	close(fd);
	assert_memory_equal(buf, "precious", 8);
	assert_int_equal(download_cleanup(pl.tmp), 0);
	assert_int_equal(download_cleanup("/nonexistent/fpl"), -1);
	place_free(&pl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_download_status),
		cmocka_unit_test(test_download_ok),
		cmocka_unit_test(test_download_not_video),
		cmocka_unit_test(test_download_too_large),
		cmocka_unit_test(test_download_http_errors),
		cmocka_unit_test(test_download_forbidden),
		cmocka_unit_test(test_download_slow_is_bounded),
		cmocka_unit_test(test_download_no_space),
		cmocka_unit_test(test_download_symlinks_and_cleanup),
	};
	return cmocka_run_group_tests_name("download", tests, setup, teardown);
}
