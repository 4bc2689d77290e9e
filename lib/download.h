/*
 * download.h: copying a provider's output video into our storage, the way
 * a careful fetcher does it.
 *
 * The URL comes from the provider, so it is not trusted: http(s) only, no
 * userinfo, only allowed hosts, no redirects, bounded in time, speed and
 * size. The bytes land in a fresh temporary file in a folder that is not
 * served, are fsynced and checked to be an MP4, and only then renamed onto
 * the destination, so the destination either does not exist or is whole.
 */
#ifndef DOWNLOAD_H
#define DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "attr.h"

struct download_limits {
	/*
	 * Comma-separated allow-list of "host" or "host:port" ("[::1]:8089"
	 * for IPv6), compared case-insensitively; a host without a port
	 * allows only its scheme's default port. "" or NULL: only the host
	 * and port of allowed_default.
	 */
	const char	*media_hosts;
	const char	*allowed_default; /* the API's base URL */
	const char	*tmp_dir;	/* not served; same filesystem as the copies */
	int		 connect_timeout_ms;
	int		 timeout_s;	/* total cap of one copy */
	long		 low_speed_bps;	/* slower than this ... */
	int		 low_speed_s;	/* ... for this long: give up (0: never) */
	long		 max_bytes;	/* the largest file accepted */
	long		 min_free_mb;	/* free space kept in the destination's folder */
};

enum download_status {
	DOWNLOAD_OK = 0,
	DOWNLOAD_UNAVAILABLE,	/* connection, timeout, too slow, 5xx, 429: retry later */
	DOWNLOAD_NO_SPACE,	/* under min_free_mb, or ENOSPC while writing: retry later */
	DOWNLOAD_REFUSED,	/* 4xx other than 429: the file is not there (retry a few times) */
	DOWNLOAD_FORBIDDEN_URL,	/* not http(s), host not allowed, userinfo, redirect: permanent */
	DOWNLOAD_TOO_LARGE,	/* over max_bytes: permanent */
	DOWNLOAD_NOT_VIDEO,	/* empty, or no MP4 'ftyp' box at bytes 4..7: permanent */
	DOWNLOAD__MAX
};

/* A short name of the status; "?" when out of range. */
const char	*download_status_str(enum download_status);

/* Whether retrying cannot help (FORBIDDEN_URL, TOO_LARGE, NOT_VIDEO). */
bool		 download_status_permanent(enum download_status);

/*
 * Copies url to path within the limits. The temporary file is
 * tmp_dir/.dl-<random>, created exclusively (O_EXCL|O_NOFOLLOW, mode 0640),
 * fsynced, checked to start like an MP4, then renamed onto path, and the
 * destination's folder fsynced. Each call uses its own libcurl handle (the
 * caller has called curl_global_init()). On failure, nothing is left at
 * path or in tmp_dir, a line is logged, and why (when not NULL) says why.
 */
enum download_status download_copy(const char *url, const char *path,
    const struct download_limits *, char *why, size_t whysz)
    MUSTCHECK;

/*
 * Whether url passes the check that download_copy makes before anything
 * else (http or https, no userinfo, host and port allowed by lim's
 * media_hosts or allowed_default); when not, why (when not NULL) says
 * why. Nothing is fetched. Exported for tests/fuzz/media_url.c.
 */
bool		 download_url_allowed(const char *url,
		    const struct download_limits *, char *why, size_t whysz);

/*
 * Removes the leftover ".dl-*" entries of tmp_dir (from a copy that was
 * killed), never following a symbolic link. Returns how many it removed,
 * or -1 when tmp_dir cannot be read.
 */
int		 download_cleanup(const char *tmp_dir);

#endif /* DOWNLOAD_H */
