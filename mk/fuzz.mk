# mk/fuzz.mk: fuzzing with libFuzzer (issue 9), included by the main Makefile.
#
#   make fuzz              install what is missing, build the harnesses, then
#                          scripts/fuzz: each harness for FUZZ_SECONDS (60)
#                          on build/fuzz/corpus/NAME (the seeds of
#                          tests/fuzz/corpus/NAME copied in, new inputs kept),
#                          a line per harness (executions, cov, the seeds'
#                          cov, findings); exits non-zero when a harness
#                          crashes or ends without more coverage than its
#                          seeds reach.
#   make fuzz FUZZ_SECONDS=5 FUZZ_ONLY="auth query"      shorter, some
#   make fuzz-build        only build build/fuzz/NAME
#
# Findings (crash-*, leak-*, timeout-*, oom-*) land in build/fuzz/findings/
# NAME/. The short run (scripts/fuzz --quick --tap, 3 s each) is part of
# make test as tests/t/15-fuzz.t. See docs/fuzzing.md.
#
# The harnesses and their own copy of lib/ are built with clang's
# libFuzzer, ASan and UBSan in build/fuzz/, apart from the gcc objects.

FUZZ_CC      ?= clang
FUZZ_BUILD    = $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_ONLY    ?=
# One per parser of outside input; tests/fuzz/NAME.c each.
FUZZ_NAMES    = route query auth request webhook prediction config outbox \
                media_url
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = -std=c11 -O1 -g -fno-omit-frame-pointer $(WARNINGS) \
                $(PKG_CFLAGS) -MMD -MP
FUZZ_LIB_OBJS = $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o) \
                $(SCHEMAS:%=$(FUZZ_BUILD)/obj/gen/%_schema.o)
FUZZ_LIB      = $(FUZZ_BUILD)/libfpl.a
FUZZ_COMMON   = $(FUZZ_BUILD)/obj/tests/fuzz/fuzz.o
FUZZ_BINS     = $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)

# Everything that is instrumented: coverage for libFuzzer, no main.
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_BUILD)/obj/gen/%_schema.o: $(BUILD)/gen/%_schema.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-missing-variable-declarations \
	    $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_COMMON) \
    $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_COMMON) \
	    $(FUZZ_LIB) $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	$(MAKE) fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz --seconds $(FUZZ_SECONDS) \
	    $(or $(FUZZ_ONLY),$(FUZZ_NAMES))

# make test runs the short run (tests/t/15-fuzz.t): build it first, so
# that the test's time is the fuzzing's.
test: fuzz-build

.PHONY: fuzz fuzz-build

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_COMMON:.o=.d) \
    $(FUZZ_NAMES:%=$(FUZZ_BUILD)/obj/tests/fuzz/%.d)
