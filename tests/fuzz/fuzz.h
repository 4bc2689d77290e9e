/*
 * fuzz.h: what the libFuzzer harnesses of tests/fuzz/ share.
 *
 * Each harness is one program (build/fuzz/NAME) that feeds its input to
 * the lib/ function the workers call on outside input, and checks, beyond
 * what ASan and UBSan see, the properties that function promises. A
 * broken promise is a crash (FUZZ_CHECK aborts), so that libFuzzer keeps
 * the input in build/fuzz/findings/NAME/ like any other finding.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

/* libFuzzer's entry points (declared here for -Wmissing-prototypes). */
int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts, naming the broken property, when cond is false. */
#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

void	fuzz_fail(const char *file, int line, const char *what)
	    __attribute__((noreturn));

/*
 * An input cut into fields at a separator byte: field[i] points at the
 * i-th field, NUL-terminated (a field may hold NUL bytes of the input; len
 * counts them), NULL past the last field present. The last field allowed
 * takes the rest of the input, separators included.
 */
#define FUZZ_FIELDS_MAX	16

struct fuzz_fields {
	char	*buf;			/* one copy of the input */
	char	*field[FUZZ_FIELDS_MAX];
	size_t	 len[FUZZ_FIELDS_MAX];
	size_t	 n;			/* fields present */
};

/* Cuts data into at most max (<= FUZZ_FIELDS_MAX) fields at sep. */
void	fuzz_fields(const uint8_t *data, size_t size, int sep, size_t max,
	    struct fuzz_fields *);
void	fuzz_fields_free(struct fuzz_fields *);

/*
 * A private scratch folder (under $TMPDIR, else /dev/shm, else /tmp),
 * made on the first call and removed with everything in it at exit.
 * Returns its path, or aborts.
 */
const char *fuzz_scratch(void);

/*
 * An accepted FastCGI request as libfcgi hands it to the worker: its
 * parameters (envp, NULL-terminated, not copied) and an input stream that
 * yields a copy of the body in pieces of at most chunk bytes (> 0), the
 * way libfcgi yields the FCGI_STDIN records that carry it.
 */
struct fuzz_fcgi {
	FCGX_Request	 req;
	FCGX_Stream	 in;
	unsigned char	*body;		/* the copy, exactly len bytes */
	size_t		 len;
	size_t		 off;		/* handed out so far */
	size_t		 chunk;
};

void	fuzz_fcgi_init(struct fuzz_fcgi *, char **envp, const void *body,
	    size_t len, size_t chunk);
void	fuzz_fcgi_free(struct fuzz_fcgi *);

/* Whether s (len bytes) is all in the set of bytes accept. */
bool	fuzz_all_in(const char *s, size_t len, const char *accept);

#endif /* FUZZ_H */
