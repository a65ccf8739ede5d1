# tenantshift build.
#
#   make              libtsshim.a and bin/ts-bot, bin/ts-migrate, bin/ts-verify, bin/ts-fixtures
#   make check        every test (installs missing Debian packages first, starts its own PostgreSQL)
#   make SANITIZE=1   the same with -fsanitize=address,undefined
#   make bench        the benchmarks under tests/bench/
#   make install PREFIX=/usr/local
#   make deps         install the Debian packages the build needs (as root)
#   make demo         the end-to-end demo migration on SQLite
#
# Layout: each of shim/ runtime/ migrate/ verify/ fixtures/ builds a static library
# from its *.c except main.c; each program is its directory's main.c linked with the
# libraries. tests/unit/test_*.c each become one cmocka binary.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
PKGS    := sqlite3 libpq libcjson libcurl libcrypto libmicrohttpd

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers -Wno-format-truncation \
           -Ishim -Iruntime -Imigrate -Iverify -Ifixtures $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lpthread -lm

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   := build-san
endif

DIRS     := shim runtime migrate verify fixtures
lib_srcs  = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
lib_objs  = $(patsubst %.c,$(BUILD)/%.o,$(call lib_srcs,$(1)))

LIB_shim     := $(BUILD)/libtsshim.a
LIB_runtime  := $(BUILD)/libtsruntime.a
LIB_migrate  := $(BUILD)/libtsmigrate.a
LIB_verify   := $(BUILD)/libtsverify.a
LIB_fixtures := $(BUILD)/libtsfixtures.a
# Link order: users before what they use.
ALL_LIBS := $(LIB_runtime) $(LIB_migrate) $(LIB_verify) $(LIB_fixtures) $(LIB_shim)

PROGRAMS := bin/ts-bot bin/ts-migrate bin/ts-verify bin/ts-fixtures
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_SUPPORT := $(patsubst %.c,$(BUILD)/%.o,$(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c)))
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
BENCH_SUPPORT := $(patsubst %.c,$(BUILD)/%.o,$(filter-out tests/bench/bench_%.c,$(wildcard tests/bench/*.c)))

.PHONY: all check test deps install clean bench demo valgrind
all: $(PROGRAMS) $(BUILD)/tools/ts-traffic

# ts-traffic: the fake Telegram + Zarinpal server that plays the users (demo, benchmarks).
$(BUILD)/tools/ts-traffic: $(BUILD)/tests/tools/ts_traffic.o $(BUILD)/tests/unit/fake_http.o $(LIB_shim)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The default increment manifest is compiled in, so every program carries the
# manifest it was built and tested with; --manifest FILE overrides it.
$(BUILD)/gen/ts_manifest_default.c: shim/manifest.json
	@mkdir -p $(dir $@)
	{ echo '/* generated from shim/manifest.json by the Makefile */'; \
	  echo 'const char ts_manifest_default_json[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00};'; } > $@

$(LIB_shim): $(call lib_objs,shim) $(BUILD)/gen/ts_manifest_default.o
$(LIB_runtime): $(call lib_objs,runtime)
$(LIB_migrate): $(call lib_objs,migrate)
$(LIB_verify): $(call lib_objs,verify)
$(LIB_fixtures): $(call lib_objs,fixtures)
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	$(if $^,ar rcs $@ $^,ar rcs $@)

bin/ts-%: $(BUILD)/%/main.o $(ALL_LIBS)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS)
bin/ts-bot: $(BUILD)/runtime/main.o $(ALL_LIBS)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_SUPPORT) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT) $(ALL_LIBS) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(BENCH_SUPPORT) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BENCH_SUPPORT) $(ALL_LIBS) $(LDLIBS)

deps:
	@sh scripts/install-deps.sh

# The README's test command. Starts a throwaway PostgreSQL cluster, runs every
# test binary on both engines, prints a summary line, removes the cluster.
check: deps
	$(MAKE) all tests
	sh tests/run.sh $(BUILD)/tests

tests: $(TEST_BINS) $(PROGRAMS)

valgrind: tests
	TS_VALGRIND=1 sh tests/run.sh $(BUILD)/tests

bench: deps $(BENCH_BINS) $(PROGRAMS)
	sh tests/bench/run.sh $(BUILD)/bench

demo: deps all
	sh scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/tenantshift
	install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIB_shim) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 shim/*.h $(DESTDIR)$(PREFIX)/include/tenantshift/

clean:
	rm -rf build build-san bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
