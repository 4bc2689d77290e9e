/*
 * video-complete: FastCGI worker for POST /api/video-complete, the video
 * provider's webhook.
 */
#include "video_complete.h"
#include "worker.h"

int
main(void)
{
	return worker_main("video-complete", video_complete_handle);
}
