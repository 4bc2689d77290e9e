# mk/bench.mk: the benchmarks (issue #5), included by the main Makefile.
#
#   make bench            install what is missing, build the workers, the
#                         benchmark's own FastCGI programs and (when its
#                         source is there) the laboratory's gallery-load, then
#                         run scripts/bench: one run, rows 1..8, the table.
#   make bench-progs      only build build/bench/{fcgi-hello,fcgi-select1}
#
# scripts/bench runs its own stack (var/bench/stack, lighttpd on 8380) and
# writes var/bench/<timestamp>/. Its knobs (BENCH_SECONDS, BENCH_ROWS, ...)
# come from the environment: BENCH_SECONDS=10 make bench. See
# scripts/bench --help and docs/benchmarks.md.

BENCH_PROGS = $(BUILD)/bench/fcgi-hello $(BUILD)/bench/fcgi-select1

# The ceilings link only what they use, so that their memory is a floor too.
$(BUILD)/bench/fcgi-hello: bench/fcgi-hello.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=c11 $(OPTFLAGS) $(WARNINGS) \
	    $(shell pkg-config --cflags fcgi 2>/dev/null) -o $@ $< \
	    $(shell pkg-config --libs fcgi 2>/dev/null || echo -lfcgi)

$(BUILD)/bench/fcgi-select1: bench/fcgi-select1.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=c11 $(OPTFLAGS) $(WARNINGS) \
	    $(shell pkg-config --cflags fcgi libpq 2>/dev/null) -o $@ $< \
	    $(shell pkg-config --libs fcgi libpq 2>/dev/null || echo -lfcgi -lpq)

bench-progs: $(BENCH_PROGS)

# gallery-load (row 7) is the laboratory's: built when its source exists
# (its rule lives in the laboratory's own mk/*.mk); scripts/bench reports
# row 7 as missing otherwise.
bench: deps
	$(MAKE) all bench-progs
	@if [ -f lab/gallery-load.c ]; then \
	    $(MAKE) $(BUILD)/lab/gallery-load || \
	    echo "make bench: building $(BUILD)/lab/gallery-load failed: row 7 will be missing" >&2; \
	fi
	scripts/bench

.PHONY: bench bench-progs
