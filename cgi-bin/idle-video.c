/*
 * idle-video: FastCGI (or CGI) worker for /api/personas/{id}/idle-video.
 */
#include "worker.h"

int
main(int argc, char **argv)
{
	return worker_main(argc, argv, "idle-video");
}
