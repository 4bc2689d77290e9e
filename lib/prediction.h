/*
 * prediction.h: a video provider's prediction (Replicate's JSON shape),
 * parsed from untrusted bytes: bounded depth and sizes, and any status
 * outside the known set taken as a failure, never a crash.
 */
#ifndef PREDICTION_H
#define PREDICTION_H

#include <stdbool.h>
#include <stddef.h>

#define PREDICTION_ID_MAX	128
#define PREDICTION_URL_MAX	2048
#define PREDICTION_ERROR_MAX	512
#define PREDICTION_STATUS_MAX	32

enum prediction_status {
	PREDICTION_STARTING,
	PREDICTION_PROCESSING,
	PREDICTION_SUCCEEDED,
	PREDICTION_FAILED,
	PREDICTION_CANCELED,
	PREDICTION_UNKNOWN,	/* e.g. "aborted": treated as a failure */
	PREDICTION__MAX
};

struct prediction {
	char			 id[PREDICTION_ID_MAX];
	enum prediction_status	 status;
	char			 status_text[PREDICTION_STATUS_MAX];	/* as sent, truncated */
	char			 output[PREDICTION_URL_MAX]; /* first URL or "" */
	char			 error[PREDICTION_ERROR_MAX]; /* or "" */
};

/*
 * Parses body into p. Returns false (with a reason in err) when the body
 * is not JSON as RFC 8259 has it (valid_json: no comments, single quotes,
 * NaN...), is not an object with a string "id" of sane characters and a
 * string "status", or when a succeeded prediction has no output URL.
 */
bool	prediction_parse(const char *body, size_t len, struct prediction *p,
	    char *err, size_t errsz);

/* The status named by text; anything unknown is PREDICTION_UNKNOWN. */
enum prediction_status prediction_status_parse(const char *text);

/* Whether the status ends the prediction (succeeded, failed, canceled, unknown). */
bool	prediction_is_terminal(enum prediction_status);

/* The status name we store in PostgreSQL's jobs.status. */
const char *prediction_job_status(enum prediction_status);

#endif /* PREDICTION_H */
