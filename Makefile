# tenantshift build.
#
#   make              libtsshim.a and bin/ts-bot, bin/ts-migrate, bin/ts-admin, bin/ts-verify,
#                     bin/ts-fixtures
#   make check        every test (installs missing Debian packages first, starts its own PostgreSQL)
#   make SANITIZE=1   the same with -fsanitize=address,undefined
#   make bench        the benchmarks under tests/bench/
#   make install PREFIX=/usr/local [DESTDIR=...]   programs, libtsshim (.so and .a), public
#                     headers, tenantshift.pc, man pages, example config, systemd unit
#   make uninstall    removes exactly what install put there (same PREFIX/DESTDIR)
#   make deps         install the Debian packages the build needs (as root)
#   make demo         the end-to-end demo migration on SQLite
#   make fault        the fault campaign (ts-bot killed at random under traffic), 300 s;
#                     `make check` runs it for 30 s
#
# check, demo and bench run `make deps` first and then build in a second make, so
# the pkg-config flags are computed after the packages are there (a fresh machine).
#
# Layout: each of shim/ runtime/ migrate/ admin/ verify/ fixtures/ builds a static library
# from its *.c except main.c; each program is its directory's main.c linked with the
# libraries. tests/unit/test_*.c each become one cmocka binary.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
PKGS    := sqlite3 libpq libcjson libcurl libcrypto libmicrohttpd

# What libtsshim itself links (the rest is the programs').
SHIM_PKGS := sqlite3 libpq libcjson libcrypto

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
PKG_ERROR  := $(shell pkg-config --exists $(PKGS) 2>/dev/null || echo missing)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
           -Ishim -Iruntime -Imigrate -Iadmin -Iverify -Ifixtures $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lpthread -lm

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   := build-san
endif

DIRS     := shim runtime migrate admin verify fixtures
lib_srcs  = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
lib_objs  = $(patsubst %.c,$(BUILD)/%.o,$(call lib_srcs,$(1)))

LIB_shim     := $(BUILD)/libtsshim.a
LIB_runtime  := $(BUILD)/libtsruntime.a
LIB_migrate  := $(BUILD)/libtsmigrate.a
LIB_admin    := $(BUILD)/libtsadmin.a
LIB_verify   := $(BUILD)/libtsverify.a
LIB_fixtures := $(BUILD)/libtsfixtures.a
# Link order: users before what they use.
ALL_LIBS := $(LIB_admin) $(LIB_runtime) $(LIB_migrate) $(LIB_verify) $(LIB_fixtures) $(LIB_shim)

PROGRAMS := bin/ts-bot bin/ts-migrate bin/ts-admin bin/ts-verify bin/ts-fixtures
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_SUPPORT := $(patsubst %.c,$(BUILD)/%.o,$(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c)))
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
BENCH_SUPPORT := $(patsubst %.c,$(BUILD)/%.o,$(filter-out tests/bench/bench_%.c,$(wildcard tests/bench/*.c)))

.PHONY: all check test deps install uninstall install-check clean bench demo valgrind fault
# Keep the objects of main.c, tests and tools that only a link needs: no rebuild next time.
.SECONDARY:
all: $(PROGRAMS) $(BUILD)/tools/ts-traffic

# ts-traffic: the fake Telegram + Zarinpal server that plays the users (demo, benchmarks).
$(BUILD)/tools/ts-traffic: $(BUILD)/tests/tools/ts_traffic.o $(BUILD)/tests/unit/fake_http.o $(LIB_shim)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Without the packages every compile would fail on a missing header: say what to do instead.
pkgs_ok = $(if $(PKG_ERROR),$(error pkg-config finds not all of $(PKGS): run 'make deps' \
	(as root) first, or 'make demo' / 'make check', which do))

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(pkgs_ok)$(CC) $(CFLAGS) -c -o $@ $<

# libtsshim.so is built from its own position-independent objects, only when
# installing, so the everyday build compiles each file once.
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(pkgs_ok)$(CC) $(CFLAGS) -fPIC -c -o $@ $<
$(BUILD)/pic/%.o: $(BUILD)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

# Data compiled in as NUL-terminated C arrays: the default increment manifest,
# so every program carries the manifest it was built and tested with
# (--manifest FILE overrides it), and the real bot's schema, the project's
# legacy schema (fixtures/real-schema/, read through the catalog code).
EMBEDDED := $(BUILD)/gen/ts_manifest_default.o $(BUILD)/gen/ts_real_schema_sqlite.o \
            $(BUILD)/gen/ts_real_schema_pg.o
$(BUILD)/gen/ts_manifest_default.c: EMBED_NAME := ts_manifest_default_json
$(BUILD)/gen/ts_manifest_default.c: shim/manifest.json
$(BUILD)/gen/ts_real_schema_sqlite.c: EMBED_NAME := ts_real_schema_sqlite
$(BUILD)/gen/ts_real_schema_sqlite.c: fixtures/real-schema/remnabot-2025-12-12.sqlite.sql
$(BUILD)/gen/ts_real_schema_pg.c: EMBED_NAME := ts_real_schema_pg
$(BUILD)/gen/ts_real_schema_pg.c: fixtures/real-schema/remnabot-2025-12-12.pg.sql
$(BUILD)/gen/%.c:
	@mkdir -p $(dir $@)
	{ echo '/* generated from $< by the Makefile */'; \
	  echo 'const char $(EMBED_NAME)[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00};'; } > $@

$(LIB_shim): $(call lib_objs,shim) $(EMBEDDED)
$(LIB_runtime): $(call lib_objs,runtime)
$(LIB_migrate): $(call lib_objs,migrate)
$(LIB_admin): $(call lib_objs,admin)
$(LIB_verify): $(call lib_objs,verify)
$(LIB_fixtures): $(call lib_objs,fixtures)
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	$(if $^,ar rcs $@ $^,ar rcs $@)

VERSION   := $(shell sed -n 's/^\#define TS_VERSION "\(.*\)"/\1/p' shim/ts_version.h)
SOMAJOR   := 0
SONAME    := libtsshim.so.$(SOMAJOR)
SHIM_SO   := $(BUILD)/libtsshim.so.$(VERSION)
SHIM_PIC  := $(patsubst $(BUILD)/%,$(BUILD)/pic/%,$(call lib_objs,shim) $(EMBEDDED))
$(SHIM_SO): $(SHIM_PIC)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $(LDFLAGS) -o $@ $^ \
	    $(shell pkg-config --libs $(SHIM_PKGS) 2>/dev/null) -lpthread -lm

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
# test binary on both engines, prints a summary line, removes the cluster; then
# installs into a temporary directory and builds a program against that.
check: deps
	$(MAKE) all tests
	sh tests/run.sh $(BUILD)/tests
	TS_TRAFFIC=$(BUILD)/tools/ts-traffic sh tests/fault/campaign.sh
	$(MAKE) install-check

# The fault campaign alone, longer (TS_FAULT_SECONDS, default 300): ts-bot
# killed at random under traffic while the increments walk (tests/fault).
fault: deps
	$(MAKE) all
	TS_TRAFFIC=$(BUILD)/tools/ts-traffic TS_FAULT_SECONDS=$${TS_FAULT_SECONDS:-300} \
	    sh tests/fault/campaign.sh

tests: $(TEST_BINS) $(PROGRAMS)

valgrind: tests
	TS_VALGRIND=1 sh tests/run.sh $(BUILD)/tests

bench: deps
	$(MAKE) $(BENCH_BINS) $(PROGRAMS)
	sh tests/bench/run.sh $(BUILD)/bench

demo: deps
	$(MAKE) all
	sh scripts/demo.sh

# Installation. DESTDIR stages it (packaging, the install test).
BINDIR        ?= $(PREFIX)/bin
LIBDIR        ?= $(PREFIX)/lib
INCLUDEDIR    ?= $(PREFIX)/include
MANDIR        ?= $(PREFIX)/share/man
DOCDIR        ?= $(PREFIX)/share/doc/tenantshift
PKGCONFIGDIR  ?= $(LIBDIR)/pkgconfig
SYSCONFDIR    ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# The headers an application that embeds the shim includes: ts_shim.h and
# ts_repo.h, what they include, logging and the version (docs/architecture.md).
PUBLIC_HEADERS := ts_shim.h ts_repo.h ts_store.h ts_value.h ts_error.h ts_stage.h ts_arena.h \
                  ts_manifest.h ts_schema.h ts_buf.h ts_log.h ts_version.h
MAN1 := $(patsubst bin/%,man/%.1,$(PROGRAMS))
D := $(DESTDIR)
comma := ,
# The installed paths in dist/*.in, filled in as they are installed.
subst = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
            -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
            -e 's|@LIBS_PRIVATE@|$(shell pkg-config --libs $(SHIM_PKGS) 2>/dev/null) -lpthread -lm|g'

install: all $(SHIM_SO)
	install -d $(D)$(BINDIR) $(D)$(LIBDIR) $(D)$(PKGCONFIGDIR) $(D)$(INCLUDEDIR)/tenantshift \
	    $(D)$(MANDIR)/man1 $(D)$(DOCDIR)/examples $(D)$(SYSCONFDIR)/tenantshift $(D)$(SYSTEMDUNITDIR)
	install -m 755 $(PROGRAMS) $(D)$(BINDIR)/
	install -m 644 $(LIB_shim) $(D)$(LIBDIR)/
	install -m 755 $(SHIM_SO) $(D)$(LIBDIR)/
	ln -sf libtsshim.so.$(VERSION) $(D)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(D)$(LIBDIR)/libtsshim.so
	install -m 644 $(addprefix shim/,$(PUBLIC_HEADERS)) $(D)$(INCLUDEDIR)/tenantshift/
	$(subst) dist/tenantshift.pc.in >$(D)$(PKGCONFIGDIR)/tenantshift.pc
	install -m 644 $(MAN1) $(D)$(MANDIR)/man1/
	install -m 644 dist/ts-bot.json dist/ts-bot.env dist/ts-migrate.json $(D)$(DOCDIR)/examples/
	install -m 644 LICENSE README.md $(D)$(DOCDIR)/
	install -m 644 dist/ts-bot.json $(D)$(SYSCONFDIR)/tenantshift/ts-bot.json.example
	$(subst) dist/ts-bot.service.in >$(D)$(SYSTEMDUNITDIR)/ts-bot.service

uninstall:
	rm -f $(addprefix $(D)$(BINDIR)/,$(notdir $(PROGRAMS))) \
	    $(addprefix $(D)$(LIBDIR)/,libtsshim.a libtsshim.so $(SONAME) libtsshim.so.$(VERSION)) \
	    $(addprefix $(D)$(INCLUDEDIR)/tenantshift/,$(PUBLIC_HEADERS)) \
	    $(D)$(PKGCONFIGDIR)/tenantshift.pc $(addprefix $(D)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	    $(addprefix $(D)$(DOCDIR)/examples/,ts-bot.json ts-bot.env ts-migrate.json) \
	    $(D)$(DOCDIR)/LICENSE $(D)$(DOCDIR)/README.md \
	    $(D)$(SYSCONFDIR)/tenantshift/ts-bot.json.example $(D)$(SYSTEMDUNITDIR)/ts-bot.service
	rmdir $(D)$(INCLUDEDIR)/tenantshift $(D)$(DOCDIR)/examples $(D)$(DOCDIR) \
	    $(D)$(SYSCONFDIR)/tenantshift 2>/dev/null || true

# Installs into a temporary directory, builds and runs a program against the
# installed library through pkg-config (shared and static), uninstalls.
install-check: all
	MAKE="$(MAKE)" CC="$(CC)" SAN_FLAGS="$(if $(filter 1,$(SANITIZE)),-fsanitize=address$(comma)undefined)" \
	    sh tests/install/check.sh

clean:
	rm -rf build build-san bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
