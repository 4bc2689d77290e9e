/*
 * personas: FastCGI worker for GET /api/personas (and the JSON 404 of any
 * other /api/ address).
 */
#include "personas.h"
#include "worker.h"

int
main(void)
{
	return worker_main("personas", personas_handle);
}
