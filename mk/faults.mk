# mk/faults.mk: the fault suite (issue 8), included by the main Makefile.
#
#   make faults            install what is missing, build the workers and the
#                          laboratory's gallery-load, then scripts/faults: a
#                          stack of its own (VAR_DIR=/tmp/fpl-faults-*, ports
#                          8488, 15732, 8489), every fault under load, the
#                          table; exits non-zero when a row fails.
#   make faults FAULTS_ARGS="--only pg-immediate,poison"    some rows
#
# The short subset (scripts/faults --quick --tap) runs inside make test as
# tests/t/60-faults.t. Ports: FAULTS_PORT, FAULTS_PG_PORT, FAULTS_PROVIDER_PORT.

FAULTS_ARGS ?=

faults: deps
	$(MAKE) all
	scripts/faults $(FAULTS_ARGS)

.PHONY: faults
