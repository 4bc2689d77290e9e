/*
 * video-complete: FastCGI worker for POST /api/video-complete, the video
 * provider's webhook.
 */
#include "generation.h"
#include "video_complete.h"
#include "worker.h"

int
main(int argc, char **argv)
{
	return worker_main(argc, argv, "video-complete", video_complete_handle,
	    generation_drain);
}
