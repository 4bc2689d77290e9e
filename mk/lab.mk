# The laboratory (docs/laboratory.md): its four C tools and `make repro`.
#
#   make repro                         every scenario, the table, the plot
#   make repro SCENARIOS="before-direct after"   some of them
#
# The tools are built by `make` (and so by `make test`, whose tests/t/50-lab.t
# runs them): they are extra prerequisites of the main Makefile's `all`.
# They are always built plainly in build/lab/, also by the ASan sub-make.

LAB_BUILD   = build/lab
LAB_TOOLS   = $(LAB_BUILD)/gallery-load $(LAB_BUILD)/pg-sampler $(LAB_BUILD)/delay-proxy \
              $(LAB_BUILD)/connect-probe
LAB_CFLAGS  = -std=c11 -D_GNU_SOURCE -O2 -g $(WARNINGS) -Ilab -Ilib
# Shared by the tools: their option parsing, on the project's strict parser.
LAB_COMMON  = lab/cli.c lib/valid.c
LAB_CURL    = $(shell pkg-config --cflags --libs libcurl json-c 2>/dev/null || echo -lcurl -ljson-c)
LAB_PQ      = $(shell pkg-config --cflags --libs libpq 2>/dev/null || echo -lpq)

all: $(LAB_TOOLS)

lab: $(LAB_TOOLS)

$(LAB_BUILD)/gallery-load: lab/gallery-load.c $(LAB_COMMON) lab/cli.h mk/lab.mk
	@mkdir -p $(@D)
	$(CC) $(LAB_CFLAGS) -pthread -o $@ $< $(LAB_COMMON) $(LAB_CURL) -lm

$(LAB_BUILD)/pg-sampler: lab/pg-sampler.c $(LAB_COMMON) lab/cli.h mk/lab.mk
	@mkdir -p $(@D)
	$(CC) $(LAB_CFLAGS) -o $@ $< $(LAB_COMMON) $(LAB_PQ)

$(LAB_BUILD)/connect-probe: lab/connect-probe.c $(LAB_COMMON) lab/cli.h mk/lab.mk
	@mkdir -p $(@D)
	$(CC) $(LAB_CFLAGS) -o $@ $< $(LAB_COMMON) $(LAB_PQ)

$(LAB_BUILD)/delay-proxy: lab/delay-proxy.c $(LAB_COMMON) lab/cli.h mk/lab.mk
	@mkdir -p $(@D)
	$(CC) $(LAB_CFLAGS) -o $@ $< $(LAB_COMMON)

repro: deps
	$(MAKE) all
	scripts/repro $(SCENARIOS)

.PHONY: lab repro
