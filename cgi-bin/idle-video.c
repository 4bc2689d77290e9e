/*
 * idle-video: FastCGI worker for /api/personas/{id}/idle-video.
 */
#include "idle_video.h"
#include "worker.h"

int
main(int argc, char **argv)
{
	return worker_main(argc, argv, "idle-video", idle_video_handle);
}
