# mk/valgrind.mk: the integration suite under valgrind's memcheck (issue 9),
# included by the main Makefile.
#
#   make valgrind     install what is missing, build the plain workers and
#                     the faulty one (the watcher's test), then
#                     tests/integration/valgrind: the suite with the workers
#                     and the engine under memcheck (VALGRIND=1, WORKERS=2,
#                     TIME_SCALE=10), its own stack (ports VALGRIND_* of
#                     scripts/lib/ports), a summary; fails if a test fails
#                     or memcheck reports an error or a definite leak.
#
# Known noise of the libraries is suppressed by tests/valgrind.supp, and
# nothing else. The knobs of tests/integration/valgrind pass through the
# environment: WORKERS=1 TIME_SCALE=20 make valgrind.

valgrind: deps
	$(MAKE) all faulty
	tests/integration/valgrind

.PHONY: valgrind
