/*
 * fuzz.c: the harnesses' shared helpers (see fuzz.h).
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char	 fuzz_dir[256];

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
	abort();
}

void
fuzz_fields(const uint8_t *data, size_t size, int sep, size_t max,
    struct fuzz_fields *f)
{
	char	*p, *end;

	memset(f, 0, sizeof(*f));
	if (max > FUZZ_FIELDS_MAX)
		max = FUZZ_FIELDS_MAX;
	/* One byte more than the input: the last field's NUL. */
	if ((f->buf = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(f->buf, data, size);
	f->buf[size] = '\0';
	p = f->buf;
	end = f->buf + size;
	while (f->n < max) {
		char *s = f->n + 1 < max ? memchr(p, sep, (size_t)(end - p)) :
		    NULL;

		f->field[f->n] = p;
		f->len[f->n] = (size_t)((s != NULL ? s : end) - p);
		f->n++;
		if (s == NULL)
			break;
		*s = '\0';
		p = s + 1;
	}
}

void
fuzz_fields_free(struct fuzz_fields *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

static int
fuzz_rm(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	(void)remove(path);	/* remove what can be, go on */
	return 0;
}

static void
fuzz_scratch_remove(void)
{
	if (fuzz_dir[0] != '\0')
		(void)nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_scratch(void)
{
	const char	*base = getenv("TMPDIR");

	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	/* SQLite fsyncs every commit: a tmpfs makes that cheap. */
	if (base == NULL || *base == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if ((size_t)snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fpl-fuzz-XXXXXX",
	    base) >= sizeof(fuzz_dir) || mkdtemp(fuzz_dir) == NULL) {
		perror("fuzz_scratch");
		abort();
	}
	atexit(fuzz_scratch_remove);
	return fuzz_dir;
}

/* libfcgi's fillBuffProc: the next piece, or the end of the stream. */
static void
fuzz_fcgi_fill(FCGX_Stream *in)
{
	struct fuzz_fcgi	*f = in->data;
	size_t			 n = f->len - f->off;

	if (n == 0) {
		in->isClosed = 1;
		return;
	}
	if (n > f->chunk)
		n = f->chunk;
	in->rdNext = f->body + f->off;
	in->stop = in->rdNext + n;
	f->off += n;
}

void
fuzz_fcgi_init(struct fuzz_fcgi *f, char **envp, const void *body,
    size_t len, size_t chunk)
{
	memset(f, 0, sizeof(*f));
	/* An exact-size copy: ASan sees a read past the body. */
	if ((f->body = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(f->body, body, len);
	f->len = len;
	f->chunk = chunk > 0 ? chunk : 1;
	f->in.isReader = 1;
	f->in.fillBuffProc = fuzz_fcgi_fill;
	f->in.data = f;
	f->req.in = &f->in;
	f->req.envp = envp;
	f->req.ipcFd = -1;
}

void
fuzz_fcgi_free(struct fuzz_fcgi *f)
{
	free(f->body);
	memset(f, 0, sizeof(*f));
}

bool
fuzz_all_in(const char *s, size_t len, const char *accept)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(accept, s[i]) == NULL)
			return false;
	return true;
}
