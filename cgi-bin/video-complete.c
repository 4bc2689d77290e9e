/*
 * video-complete: FastCGI (or CGI) worker for POST /api/video-complete,
 * the video provider's webhook; with an argument, the background engine (--engine,
 * --drain) or its outbox (--outbox), see lib/engine.h.
 */
#include "engine.h"
#include "worker.h"

int
main(int argc, char **argv)
{
	if (argc > 1)
		return engine_main(argc, argv);
	return worker_main(argc, argv, "video-complete");
}
