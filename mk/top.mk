# mk/top.mk: make top, the live view of the metrics (issue 11, item 7),
# included by the main Makefile.
#
#   make top                        the stack of `make run` (its port from
#                                   var/run/stack.env, else 8088)
#   make top TOP_ARGS=--lab         the laboratory's stack during make repro
#   make top TOP_ARGS="--url http://host:port --interval 2"
#
# scripts/top needs Node.js only: nothing is built or installed first.
# Its options: scripts/top --help.

TOP_ARGS ?=

top:
	@scripts/top $(TOP_ARGS)

.PHONY: top
