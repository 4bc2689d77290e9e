/*
 * prediction.c: parsing a provider's prediction with json-c.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "prediction.h"
#include "valid.h"

#define PREDICTION_DEPTH	16	/* json-c's default is 32 */

static const char *const prediction_names[PREDICTION__MAX] = {
	"starting",	/* PREDICTION_STARTING */
	"processing",	/* PREDICTION_PROCESSING */
	"succeeded",	/* PREDICTION_SUCCEEDED */
	"failed",	/* PREDICTION_FAILED */
	"canceled",	/* PREDICTION_CANCELED */
	"failed",	/* PREDICTION_UNKNOWN: stored as a failure */
};

bool
prediction_is_terminal(enum prediction_status s)
{
	return s != PREDICTION_STARTING && s != PREDICTION_PROCESSING;
}

const char *
prediction_job_status(enum prediction_status s)
{
	return (unsigned)s < PREDICTION__MAX ? prediction_names[s] : "failed";
}

enum prediction_status
prediction_status_parse(const char *text)
{
	for (int i = 0; i < PREDICTION_UNKNOWN; i++)
		if (strcmp(text, prediction_names[i]) == 0)
			return (enum prediction_status)i;
	return PREDICTION_UNKNOWN;
}

/* Prediction ids are short tokens; refuse anything else. */
static bool
prediction_id_ok(const char *s, size_t len)
{
	if (len == 0 || len >= PREDICTION_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Copies a string whole, or false when it does not fit or is not UTF-8. */
static bool
prediction_copy(json_object *o, char *dst, size_t dstsz)
{
	const char	*s = json_object_get_string(o);
	size_t		 len = (size_t)json_object_get_string_len(o);

	if (len >= dstsz || !valid_utf8(s, len))
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

bool
prediction_parse(const char *body, size_t len, struct prediction *p,
    char *err, size_t errsz)
{
	struct json_tokener	*tok;
	json_object		*root = NULL, *v;
	bool			 ok = false;

	memset(p, 0, sizeof(*p));
	/*
	 * JSON as RFC 8259 has it, and no more: json-c takes comments,
	 * single quotes and NaN, and even in its strict mode NaN, Infinity,
	 * single-quoted names and control characters in strings.
	 */
	if (!valid_json(body, len, PREDICTION_DEPTH)) {
		snprintf(err, errsz, "body is not JSON (RFC 8259), or nested "
		    "deeper than %d", PREDICTION_DEPTH);
		return false;
	}
	if ((tok = json_tokener_new_ex(PREDICTION_DEPTH)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return false;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int)len);
	if (root == NULL || json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errsz, "body is not one JSON value");
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errsz, "body is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !prediction_id_ok(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v))) {
		snprintf(err, errsz, "id is missing or malformed");
		goto out;
	}
	(void)prediction_copy(v, p->id, sizeof(p->id));
	if (!json_object_object_get_ex(root, "status", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errsz, "status is missing");
		goto out;
	}
	/* Text that may reach PostgreSQL: UTF-8, cut between characters. */
	(void)valid_utf8_copy(p->status_text, sizeof(p->status_text),
	    json_object_get_string(v), (size_t)json_object_get_string_len(v));
	p->status = prediction_status_parse(p->status_text);

	/* output: a URL, or an array whose first element is one. */
	if (json_object_object_get_ex(root, "output", &v) && v != NULL) {
		if (json_object_is_type(v, json_type_array) &&
		    json_object_array_length(v) > 0)
			v = json_object_array_get_idx(v, 0);
		if (json_object_is_type(v, json_type_string) &&
		    !prediction_copy(v, p->output, sizeof(p->output))) {
			snprintf(err, errsz, "output URL is too long or not "
			    "UTF-8");
			goto out;
		}
	}
	if (json_object_object_get_ex(root, "error", &v) && v != NULL) {
		const char	*e;
		size_t		 elen;

		if (json_object_is_type(v, json_type_string)) {
			e = json_object_get_string(v);
			elen = (size_t)json_object_get_string_len(v);
		} else {
			e = json_object_to_json_string_ext(v,
			    JSON_C_TO_STRING_PLAIN);
			elen = e == NULL ? 0 : strlen(e);
		}
		if (e != NULL)
			(void)valid_utf8_copy(p->error, sizeof(p->error), e,
			    elen);
	}
	if (p->status == PREDICTION_SUCCEEDED && p->output[0] == '\0') {
		snprintf(err, errsz, "a succeeded prediction without output");
		goto out;
	}
	ok = true;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return ok;
}
