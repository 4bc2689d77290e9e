/*
 * idle-video: FastCGI worker for /api/personas/{id}/idle-video.
 */
#include "idle_video.h"
#include "worker.h"

int
main(void)
{
	return worker_main("idle-video", idle_video_handle);
}
