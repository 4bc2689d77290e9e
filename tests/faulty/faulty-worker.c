/*
 * faulty-worker.c: a FastCGI worker that is wrong on purpose, built only to
 * prove the test watcher (tests/sanitizer-reports): each request reads past
 * the end of a heap block and leaks it. Under AddressSanitizer the read
 * aborts the worker with a report; under memcheck both show. Never part of
 * the service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgi_stdio.h>

int
main(void)
{
	while (FCGI_Accept() >= 0) {
		char		*block = malloc(16);
		volatile size_t	 end = 16;	/* opaque to the compiler */
		volatile char	 past;

		if (block == NULL)
			return 1;
		memset(block, 'x', 16);
		past = block[end];		/* one byte past the end */
		(void)past;
		block = NULL;			/* and the block is lost */
		printf("Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "\r\n{\"faulty\":true}\n");
	}
	return 0;
}
