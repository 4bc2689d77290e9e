/*
 * video.c: idle video statuses.
 */
#include <stdlib.h>
#include <string.h>

#include "video.h"

static const char *const video_names[VIDEO__MAX] = {
	"not_started",	/* VIDEO_NOT_STARTED */
	"starting",	/* VIDEO_STARTING */
	"processing",	/* VIDEO_PROCESSING */
	"completed",	/* VIDEO_COMPLETED */
	"failed",	/* VIDEO_FAILED */
	"unknown",	/* VIDEO_UNKNOWN */
};

const char *
video_status_name(enum video_status s)
{
	if ((unsigned)s >= VIDEO__MAX)
		abort();
	return video_names[s];
}

bool
video_job_active(const char *job_status)
{
	return job_status != NULL && (strcmp(job_status, "starting") == 0 ||
	    strcmp(job_status, "processing") == 0);
}

enum video_status
video_status_of(const char *url, const char *job_status)
{
	if (url != NULL && *url != '\0')
		return VIDEO_COMPLETED;
	if (job_status == NULL || *job_status == '\0')
		return VIDEO_NOT_STARTED;
	if (strcmp(job_status, "starting") == 0)
		return VIDEO_STARTING;
	if (strcmp(job_status, "processing") == 0 ||
	    strcmp(job_status, "succeeded") == 0)
		return VIDEO_PROCESSING;
	return VIDEO_FAILED;	/* failed, canceled, and anything unknown */
}
