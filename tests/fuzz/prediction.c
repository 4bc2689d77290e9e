/*
 * prediction.c: libFuzzer harness of the prediction JSON.
 *
 * A prediction comes from the provider twice: in a webhook's body (the
 * video-complete worker) and in the answers to the provider API calls
 * (the start of a generation, the engine's reconciliation). Both parse it
 * with prediction_parse (lib/prediction.c), the function fuzzed here. The
 * input is the body, given as both callers give it: NUL-terminated, with
 * its length (so a NUL inside is part of the body).
 *
 * Properties: an accepted prediction has an id of 1 to 127 characters
 * [A-Za-z0-9_-], a status text, output URL and error that are valid UTF-8
 * and fit their fields, the status that its text names, and an output
 * when it succeeded; and it is a fixed point: written back as JSON and
 * parsed again, it is the same prediction. A refusal says why.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "prediction.h"
#include "valid.h"

#define ID_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789-_"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
check_text(const char *s, size_t size)
{
	size_t	 len = strnlen(s, size);

	FUZZ_CHECK(len < size);
	FUZZ_CHECK(valid_utf8(s, len));
}

/* p written back as the provider would send it. */
static json_object *
encode(const struct prediction *p)
{
	json_object	*o = json_object_new_object();

	if (o == NULL)
		abort();
	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "status",
	    json_object_new_string(p->status_text));
	json_object_object_add(o, "output", p->output[0] != '\0' ?
	    json_object_new_string(p->output) : NULL);
	json_object_object_add(o, "error", p->error[0] != '\0' ?
	    json_object_new_string(p->error) : NULL);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prediction	 p, q;
	struct fuzz_fields	 f;
	char			 err[128];
	json_object		*o;
	const char		*s;
	size_t			 len;

	fuzz_fields(data, size, '\0', 1, &f);
	memset(err, 0, sizeof(err));
	if (!prediction_parse(f.field[0], f.len[0], &p, err, sizeof(err))) {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
		fuzz_fields_free(&f);
		return 0;
	}
	len = strnlen(p.id, sizeof(p.id));
	FUZZ_CHECK(len > 0 && len < sizeof(p.id));
	FUZZ_CHECK(fuzz_all_in(p.id, len, ID_CHARS));
	check_text(p.status_text, sizeof(p.status_text));
	check_text(p.output, sizeof(p.output));
	check_text(p.error, sizeof(p.error));
	FUZZ_CHECK(p.status == prediction_status_parse(p.status_text));
	if (p.status == PREDICTION_SUCCEEDED)
		FUZZ_CHECK(p.output[0] != '\0');

	/* What we keep of a prediction reads back the same. */
	o = encode(&p);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(prediction_parse(s, len, &q, err, sizeof(err)));
	FUZZ_CHECK(strcmp(p.id, q.id) == 0 && p.status == q.status &&
	    strcmp(p.status_text, q.status_text) == 0 &&
	    strcmp(p.output, q.output) == 0 && strcmp(p.error, q.error) == 0);
	json_object_put(o);
	fuzz_fields_free(&f);
	return 0;
}
