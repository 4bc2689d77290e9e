# fcgi-pool-lab: three FastCGI executables on one static library.
#
#   make            build build/bin/{personas,idle-video,video-complete}
#   make asan       the same with AddressSanitizer + UBSan, in build/asan/
#   make test       install what is missing, build, run every test
#   make run        install what is missing, build, start the demo stack
#
# Overrides go in Makefile.local (not in git) or on the command line.

-include Makefile.local

CC       ?= cc
BUILD    ?= build
PKGS      = fcgi libpq json-c sqlite3 libcrypto libcurl
OPTFLAGS ?= -O2 -g
WARNINGS  = -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes \
            -Wwrite-strings -Wshadow -Wformat=2 -Wno-format-nonliteral
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
                echo -lfcgi -lpq -ljson-c -lsqlite3 -lcrypto -lcurl)
CPPFLAGS += -Ilib -D_GNU_SOURCE
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARNINGS) $(PKG_CFLAGS) $(SANFLAGS) -MMD -MP
# No path of the checkout in the objects (debug information, __FILE__), so
# that an installed executable names none (mk/install.mk): they say ./lib/...
CFLAGS   += -ffile-prefix-map=$(CURDIR)=.
LDFLAGS  += $(SANFLAGS)
LDLIBS   += $(PKG_LIBS)

LIB_SRCS  = $(wildcard lib/*.c)
SCHEMAS   = cache outbox
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o) $(SCHEMAS:%=$(BUILD)/gen/%_schema.o)
LIB       = $(BUILD)/libfpl.a
PROGS     = personas idle-video video-complete
BINS      = $(PROGS:%=$(BUILD)/bin/%)
TEST_SRCS = $(wildcard tests/unit/test-*.c)
TESTS     = $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FIXTURE   = $(BUILD)/tests/unit/fixture.o

all: $(BINS)

$(BUILD)/bin/%: $(BUILD)/cgi-bin/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The SQLite schemas are compiled in, so that a worker can recreate a lost
# cache and the engine can create the outbox: schema/X.sql -> X_schema_sql.
$(BUILD)/gen/%_schema.c: schema/%.sql
	@mkdir -p $(@D)
	{ echo '/* Generated from $< by the Makefile. */'; \
	  echo 'const char $*_schema_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

$(BUILD)/gen/%_schema.o: $(BUILD)/gen/%_schema.c
	$(CC) $(CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(FIXTURE) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(FIXTURE) $(LIB) $(LDLIBS) -lcmocka

tests: $(TESTS)

# A worker that is wrong on purpose, for the test of the watcher of the
# sanitizer and memcheck reports (tests/integration/watcher.test.mjs).
FAULTY = $(BUILD)/faulty/faulty-worker
$(FAULTY): $(BUILD)/tests/faulty/faulty-worker.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -lfcgi
faulty: $(FAULTY)

asan:
	$(MAKE) BUILD=build/asan OPTFLAGS='-O1 -g -fno-omit-frame-pointer' \
	    SANFLAGS='-fsanitize=address,undefined -fno-sanitize-recover=all' \
	    all tests faulty

deps:
	scripts/install-deps

test: deps
	$(MAKE) all tests
	$(MAKE) asan
	tests/run

run: deps
	$(MAKE) all
	scripts/run

clean:
	rm -rf build

# The laboratory and the benchmarks keep their own rules in mk/*.mk.
-include mk/*.mk

.PHONY: all asan deps test tests faulty run clean
.SECONDARY:

-include $(LIB_OBJS:.o=.d) $(BINS:$(BUILD)/bin/%=$(BUILD)/cgi-bin/%.d) \
    $(TESTS:$(BUILD)/tests/%=$(BUILD)/tests/unit/%.d) $(FIXTURE:.o=.d)
