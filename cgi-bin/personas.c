/*
 * personas: FastCGI (or CGI) worker for GET /api/personas, and the JSON
 * 404 of any other /api/ address (lib/route.c).
 */
#include "worker.h"

int
main(int argc, char **argv)
{
	return worker_main(argc, argv, "personas");
}
