/*
 * personas: FastCGI worker for GET /api/personas (and the JSON 404 of any
 * other /api/ address).
 */
#include "personas.h"
#include "worker.h"

int
main(int argc, char **argv)
{
	return worker_main(argc, argv, "personas", personas_handle);
}
