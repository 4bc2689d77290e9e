/*
 * query.c: libFuzzer harness of the query string.
 *
 * GET /api/personas is the one route with parameters, and the personas
 * worker reads them with personas_params (lib/personas.c, exported for
 * this harness), which finds limit and after with http_query_get and
 * checks them with valid_int and valid_uuid. The input is QUERY_STRING as
 * lighttpd passes it (a NUL ends it, as it ends a FastCGI parameter).
 * http_query_get is also called for a name taken from the input's first
 * line (the rest is then the query) into buffers of several sizes, so its
 * decoding and its "does not fit" path see other names than the two the
 * worker asks for.
 *
 * Properties: an accepted page has 1 <= limit <= 1000 (100 when absent),
 * written canonically in the query (the strict integer means one value,
 * one spelling); an accepted after is a lower-case UUID; a refusal is a
 * 400 with a JSON error. http_query_get returns -1, 0 or 1, and a found
 * value is NUL-terminated inside its buffer.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "personas.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-query", LOG_ERROR);
	return 0;
}

static void
check_page(const char *query)
{
	struct http_request	 req;
	struct http_response	 resp;
	char			 after[VALID_UUID_LEN + 1], buf[64], canon[24];
	long long		 limit = -1;
	bool			 has_after = false;
	json_object		*v;

	memset(&req, 0, sizeof(req));
	req.method = HTTP_GET;
	req.query = query;
	http_response_init(&resp);
	if (personas_params(&req, &resp, &limit, after, &has_after)) {
		FUZZ_CHECK(limit >= 1 && limit <= PERSONAS_LIMIT_MAX);
		if (http_query_get(query, "limit", buf, sizeof(buf)) == 1) {
			snprintf(canon, sizeof(canon), "%lld", limit);
			FUZZ_CHECK(strcmp(buf, canon) == 0);
		} else
			FUZZ_CHECK(limit == PERSONAS_LIMIT_DEFAULT);
		if (has_after) {
			FUZZ_CHECK(strlen(after) == VALID_UUID_LEN);
			FUZZ_CHECK(valid_uuid(after, VALID_UUID_LEN, NULL));
			FUZZ_CHECK(fuzz_all_in(after, VALID_UUID_LEN,
			    "0123456789abcdef-"));
		}
		FUZZ_CHECK(resp.body == NULL);
	} else
		FUZZ_CHECK(resp.status == 400 && resp.body != NULL &&
		    json_object_object_get_ex(resp.body, "error", &v));
	http_response_free(&resp);
}

static void
check_get(const char *query, const char *name)
{
	static const size_t	 sizes[] = { 1, 2, 8, 37, 64, 256 };
	char			 out[256];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int rc;

		memset(out, 'x', sizeof(out));
		rc = http_query_get(query, name, out, sizes[i]);
		FUZZ_CHECK(rc >= -1 && rc <= 1);
		if (rc == 1)
			FUZZ_CHECK(memchr(out, '\0', sizes[i]) != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 f;

	fuzz_fields(data, size, '\0', 1, &f);
	check_page(f.field[0]);
	fuzz_fields_free(&f);

	fuzz_fields(data, size, '\n', 2, &f);
	if (f.n == 2)
		check_get(f.field[1], f.field[0]);
	fuzz_fields_free(&f);
	return 0;
}
