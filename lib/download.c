/*
 * download.c: bounded, atomic copies of the provider's output videos.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "download.h"
#include "log.h"
#include "metrics.h"

#define TMP_PREFIX	".dl-"
#define URL_MAX		4096
#define MIB		(1024 * 1024)

static const char *const download_names[DOWNLOAD__MAX] = {
	"ok",			/* DOWNLOAD_OK */
	"unavailable",		/* DOWNLOAD_UNAVAILABLE */
	"no space",		/* DOWNLOAD_NO_SPACE */
	"refused",		/* DOWNLOAD_REFUSED */
	"forbidden url",	/* DOWNLOAD_FORBIDDEN_URL */
	"too large",		/* DOWNLOAD_TOO_LARGE */
	"not video",		/* DOWNLOAD_NOT_VIDEO */
};

const char *
download_status_str(enum download_status s)
{
	return (unsigned)s < DOWNLOAD__MAX ? download_names[s] : "?";
}

bool
download_status_permanent(enum download_status s)
{
	return s == DOWNLOAD_FORBIDDEN_URL || s == DOWNLOAD_TOO_LARGE ||
	    s == DOWNLOAD_NOT_VIDEO;
}

/* The state of one copy, shared with the write callback. */
struct download_file {
	CURL		*curl;
	int		 fd;
	long		 written;
	long		 max;
	long long	 room;		/* bytes we may use: free - min_free */
	unsigned char	 head[8];	/* the first bytes, for the MP4 check */
	int		 err;		/* errno of a failed write, or 0 */
	bool		 started;
	bool		 bad_code;	/* not a 200: the body is not kept */
	bool		 overflow;	/* over max */
	bool		 no_room;	/* Content-Length over room */
};

static void
download_why(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
download_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list	 ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

/* The folder of path, in buf: "." when none, "/" for the root. */
static bool
download_dir(const char *path, char *buf, size_t bufsz)
{
	const char	*slash = strrchr(path, '/');
	size_t		 len;

	if (slash == NULL) {
		path = ".";
		len = 1;
	} else
		len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= bufsz)
		return false;
	memcpy(buf, path, len);
	buf[len] = '\0';
	return true;
}

/*
 * The host and port of an http(s) URL in u (host as curl normalises it,
 * IPv6 in brackets; port filled with the scheme's default). Refuses
 * userinfo, which only serves to disguise a host.
 */
static bool
download_host_port(CURLU *u, char **host, char **port, char *why,
    size_t whysz)
{
	char	*scheme = NULL, *user = NULL, *pass = NULL, *opts = NULL;
	bool	 ok = false;

	*host = *port = NULL;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0))
		download_why(why, whysz, "not an http(s) URL");
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) !=
	    CURLUE_NO_PASSWORD ||
	    curl_url_get(u, CURLUPART_OPTIONS, &opts, 0) != CURLUE_NO_OPTIONS)
		download_why(why, whysz, "a URL with userinfo");
	else if (curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		download_why(why, whysz, "a URL without host");
	else
		ok = true;
	curl_free(scheme);
	curl_free(user);
	curl_free(pass);
	curl_free(opts);
	if (!ok) {
		curl_free(*host);
		curl_free(*port);
		*host = *port = NULL;
	}
	return ok;
}

/*
 * Whether one allow-list entry, "host" or "host:port", admits host and
 * port. A host alone admits only the default port of the URL's scheme.
 */
static bool
download_entry_allows(const char *entry, size_t len, const char *host,
    const char *port, const char *default_port)
{
	char	 buf[512];
	CURLU	*u;
	char	*eh = NULL, *ep = NULL, *eu = NULL;
	bool	 ok = false;

	if (len == 0 || len > 255 || memchr(entry, '/', len) != NULL ||
	    memchr(entry, '@', len) != NULL || memchr(entry, '?', len) != NULL ||
	    memchr(entry, '#', len) != NULL)
		return false;
	snprintf(buf, sizeof(buf), "http://%.*s/", (int)len, entry);
	if ((u = curl_url()) == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, buf, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_USER, &eu, 0) == CURLUE_NO_USER &&
	    curl_url_get(u, CURLUPART_HOST, &eh, 0) == CURLUE_OK) {
		CURLUcode rc = curl_url_get(u, CURLUPART_PORT, &ep,
		    CURLU_NO_DEFAULT_PORT);

		if (strcasecmp(eh, host) != 0)
			ok = false;
		else if (rc == CURLUE_OK)
			ok = strcmp(ep, port) == 0;
		else
			ok = rc == CURLUE_NO_PORT &&
			    strcmp(port, default_port) == 0;
	}
	curl_free(eh);
	curl_free(ep);
	curl_free(eu);
	curl_url_cleanup(u);
	return ok;
}

/* Whether host:port of a URL of scheme's default port dport is allowed. */
static bool
download_host_allowed(const struct download_limits *lim, const char *host,
    const char *port, const char *dport)
{
	const char	*s = lim->media_hosts, *e;
	CURLU		*u;
	char		*dh = NULL, *dp = NULL;
	bool		 ok = false;

	if (s != NULL && *s != '\0') {
		for (; *s != '\0'; s = *e == ',' ? e + 1 : e) {
			size_t	 len;

			while (*s == ' ' || *s == '\t')
				s++;
			e = s + strcspn(s, ",");
			for (len = (size_t)(e - s); len > 0 &&
			    (s[len - 1] == ' ' || s[len - 1] == '\t'); len--)
				continue;
			if (download_entry_allows(s, len, host, port, dport))
				return true;
		}
		return false;
	}
	if (lim->allowed_default == NULL || (u = curl_url()) == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, lim->allowed_default, 0) ==
	    CURLUE_OK &&
	    download_host_port(u, &dh, &dp, NULL, 0))
		ok = strcasecmp(dh, host) == 0 && strcmp(dp, port) == 0;
	curl_free(dh);
	curl_free(dp);
	curl_url_cleanup(u);
	return ok;
}

/*
 * Parses url into a new CURLU (then handed to libcurl as is, so that what
 * is checked is what is fetched) when it is allowed; NULL otherwise.
 */
static CURLU *
download_check_url(const char *url, const struct download_limits *lim,
    char *why, size_t whysz)
{
	CURLU	*u;
	char	*host = NULL, *port = NULL, *scheme = NULL;
	bool	 ok = false;

	if (url == NULL || strnlen(url, URL_MAX) >= URL_MAX) {
		download_why(why, whysz, "no URL, or a URL too long");
		return NULL;
	}
	if ((u = curl_url()) == NULL) {
		download_why(why, whysz, "out of memory");
		return NULL;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		download_why(why, whysz, "not a URL");
	else if (download_host_port(u, &host, &port, why, whysz) &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
		const char *dport = strcasecmp(scheme, "https") == 0 ?
		    "443" : "80";

		if (download_host_allowed(lim, host, port, dport))
			ok = true;
		else
			download_why(why, whysz, "host %s port %s is not "
			    "allowed", host, port);
	}
	curl_free(host);
	curl_free(port);
	curl_free(scheme);
	if (!ok) {
		curl_url_cleanup(u);
		u = NULL;
	}
	return u;
}

bool
download_url_allowed(const char *url, const struct download_limits *lim,
    char *why, size_t whysz)
{
	CURLU	*u = download_check_url(url, lim, why, whysz);

	curl_url_cleanup(u);
	return u != NULL;
}

static size_t
download_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct download_file	*f = arg;
	size_t			 len = size * n, off = 0;

	if (!f->started) {
		long		code = 0;
		curl_off_t	cl = -1;

		f->started = true;
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200) {
			f->bad_code = true;	/* an error page: not kept */
			return 0;
		}
		curl_easy_getinfo(f->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &cl);
		if (cl > 0 && (long long)cl > f->room) {
			f->no_room = true;
			return 0;
		}
	}
	if ((long long)f->written + (long long)len > (long long)f->max) {
		f->overflow = true;	/* chunked, or a lying length */
		return 0;
	}
	for (size_t i = 0; i < len && f->written + (long)i < 8; i++)
		f->head[f->written + (long)i] = (unsigned char)ptr[i];
	while (off < len) {
		ssize_t w = write(f->fd, ptr + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->err = w < 0 ? errno : EIO;
			return 0;
		}
		off += (size_t)w;
	}
	f->written += (long)len;
	return len;
}

/* Makes a rename durable: fsync of the folder dir. */
static void
download_sync_dir(const char *dir)
{
	int	 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (fsync(fd) != 0 && errno != EINVAL)
		log_warn("download: fsync %s", dir);
	close(fd);
}

/* A fresh temporary file tmp_dir/.dl-<random> in tmp, or -1. */
static int
download_open_tmp(const char *tmp_dir, char *tmp, size_t tmpsz)
{
	uint64_t	 r;
	int		 fd = -1;

	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -1;
		if (snprintf(tmp, tmpsz, "%s/" TMP_PREFIX "%016llx", tmp_dir,
		    (unsigned long long)r) >= (int)tmpsz) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0640);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	return fd;
}

/* What a failed write, sync or open says: no room (retried later) or not. */
static enum download_status
download_io_status(int e)
{
	return e == ENOSPC || e == EDQUOT ? DOWNLOAD_NO_SPACE :
	    DOWNLOAD_UNAVAILABLE;
}

/*
 * Checks where the copy goes: the folders exist, are on one filesystem (so
 * the rename is atomic), and the destination keeps min_free_mb. Sets *room
 * to the bytes the copy may use.
 */
static enum download_status
download_check_dirs(const char *tmp_dir, const char *dir, long min_free_mb,
    long long *room, char *why, size_t whysz)
{
	struct stat	 st, sd;
	struct statvfs	 vfs;
	long long	 avail, keep;

	if (stat(tmp_dir, &st) != 0) {
		download_why(why, whysz, "tmp_dir %s: %s", tmp_dir,
		    strerror(errno));
		return DOWNLOAD_UNAVAILABLE;
	}
	if (!S_ISDIR(st.st_mode)) {
		download_why(why, whysz, "tmp_dir %s is not a folder", tmp_dir);
		return DOWNLOAD_UNAVAILABLE;
	}
	if (stat(dir, &sd) != 0 || statvfs(dir, &vfs) != 0) {
		download_why(why, whysz, "%s: %s", dir, strerror(errno));
		return DOWNLOAD_UNAVAILABLE;
	}
	if (st.st_dev != sd.st_dev) {
		download_why(why, whysz, "tmp_dir %s is not on the filesystem "
		    "of %s", tmp_dir, dir);
		return DOWNLOAD_UNAVAILABLE;
	}
	avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
	keep = min_free_mb > 0 ? (long long)min_free_mb * MIB : 0;
	if (min_free_mb > 0 && min_free_mb > INT64_MAX / MIB)
		keep = INT64_MAX;
	if (avail < keep) {
		download_why(why, whysz, "%lld MiB free in %s, under %ld MiB",
		    avail / MIB, dir, min_free_mb);
		return DOWNLOAD_NO_SPACE;
	}
	*room = avail - keep;
	return DOWNLOAD_OK;
}

/* The status of a finished transfer, before the file is checked. */
static enum download_status
download_classify(const struct download_file *f, CURLcode rc, long code,
    const char *curl_err, char *why, size_t whysz)
{
	if (code >= 300 && code < 400) {
		download_why(why, whysz, "HTTP %ld: redirects are not followed",
		    code);
		return DOWNLOAD_FORBIDDEN_URL;
	}
	if (code == 429 || code >= 500) {
		download_why(why, whysz, "HTTP %ld", code);
		return DOWNLOAD_UNAVAILABLE;
	}
	if (code >= 400) {
		download_why(why, whysz, "HTTP %ld", code);
		return DOWNLOAD_REFUSED;
	}
	if (f->overflow || rc == CURLE_FILESIZE_EXCEEDED) {
		download_why(why, whysz, "over %ld bytes", f->max);
		return DOWNLOAD_TOO_LARGE;
	}
	if (f->no_room) {
		download_why(why, whysz, "no room for the file");
		return DOWNLOAD_NO_SPACE;
	}
	if (f->err != 0) {
		download_why(why, whysz, "write: %s", strerror(f->err));
		return download_io_status(f->err);
	}
	if (code != 200 && code >= 200) {
		download_why(why, whysz, "HTTP %ld is not a whole file", code);
		return DOWNLOAD_NOT_VIDEO;
	}
	if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
		download_why(why, whysz, "%s", curl_easy_strerror(rc));
		return DOWNLOAD_FORBIDDEN_URL;
	}
	if (rc != CURLE_OK || code != 200) {
		download_why(why, whysz, "%s%s%s (HTTP %ld)",
		    curl_easy_strerror(rc), *curl_err != '\0' ? ": " : "",
		    curl_err, code);
		return DOWNLOAD_UNAVAILABLE;
	}
	if (f->written < 8 || memcmp(f->head + 4, "ftyp", 4) != 0) {
		download_why(why, whysz, f->written == 0 ? "an empty file" :
		    "not an MP4 file (no ftyp box)");
		return DOWNLOAD_NOT_VIDEO;
	}
	return DOWNLOAD_OK;
}

/* Sets the bounds and the safety options of one transfer. */
static void
download_options(CURL *curl, CURLU *u, const struct download_limits *lim,
    struct download_file *f, char *curl_err)
{
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CURLU, u);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)(lim->max_bytes > 0 ? lim->max_bytes : 0));
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)lim->connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)lim->timeout_s);
	if (lim->low_speed_bps > 0 && lim->low_speed_s > 0) {
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT,
		    lim->low_speed_bps);
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
		    (long)lim->low_speed_s);
	}
	/* No Accept-Encoding: the bytes counted are the bytes stored. */
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "fcgi-pool-lab");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, download_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
}

enum download_status
download_copy(const char *url, const char *path,
    const struct download_limits *lim, char *why, size_t whysz)
{
	struct download_file	 f = { .fd = -1, .max = lim->max_bytes };
	char			 dir[4096], tmp[4096], reason[256] = "";
	char			 curl_err[CURL_ERROR_SIZE] = "";
	CURLU			*u = NULL;
	CURLcode		 rc;
	long			 code = 0;
	enum download_status	 st;

	if ((u = download_check_url(url, lim, reason, sizeof(reason))) ==
	    NULL) {
		st = DOWNLOAD_FORBIDDEN_URL;
		goto out;
	}
	if (lim->tmp_dir == NULL || !download_dir(path, dir, sizeof(dir))) {
		snprintf(reason, sizeof(reason), "no tmp_dir, or a path too long");
		st = DOWNLOAD_UNAVAILABLE;
		goto out;
	}
	if ((st = download_check_dirs(lim->tmp_dir, dir, lim->min_free_mb,
	    &f.room, reason, sizeof(reason))) != DOWNLOAD_OK)
		goto out;
	if ((f.fd = download_open_tmp(lim->tmp_dir, tmp, sizeof(tmp))) < 0) {
		snprintf(reason, sizeof(reason), "temporary file in %s: %s",
		    lim->tmp_dir, strerror(errno));
		st = download_io_status(errno);
		goto out;
	}
	if ((f.curl = curl_easy_init()) == NULL) {
		snprintf(reason, sizeof(reason), "curl_easy_init failed");
		st = DOWNLOAD_UNAVAILABLE;
		goto out;
	}
	download_options(f.curl, u, lim, &f, curl_err);
	rc = curl_easy_perform(f.curl);
	curl_easy_getinfo(f.curl, CURLINFO_RESPONSE_CODE, &code);
	st = download_classify(&f, rc, code, curl_err, reason, sizeof(reason));
	if (st == DOWNLOAD_OK && fsync(f.fd) != 0) {
		snprintf(reason, sizeof(reason), "fsync: %s", strerror(errno));
		st = download_io_status(errno);
	}
	if (close(f.fd) != 0 && st == DOWNLOAD_OK) {
		snprintf(reason, sizeof(reason), "close: %s", strerror(errno));
		st = download_io_status(errno);
	}
	f.fd = -1;
	if (st == DOWNLOAD_OK && rename(tmp, path) != 0) {
		snprintf(reason, sizeof(reason), "rename to %s: %s", path,
		    strerror(errno));
		st = DOWNLOAD_UNAVAILABLE;
	}
	if (st == DOWNLOAD_OK)
		download_sync_dir(dir);
	else
		(void)unlink(tmp);
out:
	if (f.fd >= 0) {
		close(f.fd);
		(void)unlink(tmp);
	}
	if (f.curl != NULL)
		curl_easy_cleanup(f.curl);
	curl_url_cleanup(u);
	if (st != DOWNLOAD_OK) {
		/* Without the query, which may carry a signature. */
		size_t shown = url == NULL ? 0 : strcspn(url, "?#");

		log_warnx("download: %.*s: %s: %s", shown > 512 ? 512 :
		    (int)shown, url == NULL ? "" : url,
		    download_status_str(st), reason);
		download_why(why, whysz, "%s", reason);
	} else
		download_why(why, whysz, "%ld bytes", f.written);
	metrics_download(st);
	return st;
}

int
download_cleanup(const char *tmp_dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if (tmp_dir == NULL || (d = opendir(tmp_dir)) == NULL) {
		log_warn("download: cleanup %s", tmp_dir == NULL ? "(null)" :
		    tmp_dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0)
			continue;
		/* unlinkat removes a symbolic link itself, not its target. */
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
		else if (errno != ENOENT)
			log_warn("download: cleanup %s/%s", tmp_dir, de->d_name);
	}
	closedir(d);
	if (n > 0)
		log_msg(LOG_INFO, "download: removed %d leftover file(s) in %s",
		    n, tmp_dir);
	return n;
}
