/*
 * video.h: the status of a persona's idle video, as the API names it.
 */
#ifndef VIDEO_H
#define VIDEO_H

#include <stdbool.h>

enum video_status {
	VIDEO_NOT_STARTED,	/* no video and no job */
	VIDEO_STARTING,		/* a job was created at the provider */
	VIDEO_PROCESSING,	/* the provider is working on it */
	VIDEO_COMPLETED,	/* videoUrl is ours and permanent */
	VIDEO_FAILED,		/* the last job failed or was canceled */
	VIDEO_UNKNOWN,		/* quick check only: the cache does not know */
	VIDEO__MAX
};

const char	*video_status_name(enum video_status);

/*
 * The status of a persona from its stored URL (NULL if none) and the
 * status of its latest job at the provider (NULL if none). A succeeded job
 * whose video is not stored yet is still processing: the copy into our
 * storage is part of the work.
 */
enum video_status video_status_of(const char *url, const char *job_status);

/* Whether a job status is an active one (starting, processing). */
bool		 video_job_active(const char *job_status);

#endif /* VIDEO_H */
