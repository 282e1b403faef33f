# kvfs - build, test and benchmark.  `make help` lists the targets.

BUILD    ?= build
CC       ?= cc
PKGS     := fuse3 sqlite3 liburing
DEB_PKGS := fuse3 libfuse3-dev libsqlite3-dev liburing-dev libcmocka-dev pkg-config \
            sqlite3 attr gcc make
PREFIX   ?= /usr/local

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS   ?= -O2 -g
override CFLAGS += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -MMD -MP \
            -Ifs -Iindex $(PKG_CFLAGS) $(EXTRA_CFLAGS)
override LDFLAGS += -pthread $(EXTRA_LDFLAGS)
LDLIBS   += $(PKG_LIBS) -lm

# The daemon's core links without FUSE (unit tests, tools); only these files
# include fuse_lowlevel.h.
FUSE_SRCS := fs/ops.c fs/main.c
CORE_SRCS := $(filter-out $(FUSE_SRCS),$(wildcard fs/*.c)) $(wildcard index/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
FUSE_OBJS := $(FUSE_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
IT_SRCS   := $(wildcard tests/integration/*.c)
IT_BINS   := $(IT_SRCS:tests/integration/%.c=$(BUILD)/tests/it/%)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/%)

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all test unit integration bench asan soak deps help clean check-deps mount umount
all: check-deps $(BUILD)/kvfs $(TOOL_BINS)

check-deps:
	@pkg-config --exists $(PKGS) cmocka || { \
	  echo "kvfs: missing build dependencies ($(PKGS) cmocka); run 'make deps' (as root)"; exit 1; }

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libkvfs-core.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/kvfs: $(FUSE_OBJS) $(BUILD)/libkvfs-core.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libkvfs-core.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libkvfs-core.a $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/tests/it/%: tests/integration/%.c $(BUILD)/libkvfs-core.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkvfs-core.a $(LDLIBS)

$(BUILD)/%: tools/%.c $(BUILD)/libkvfs-core.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkvfs-core.a $(LDLIBS)

test: all $(UNIT_BINS) $(IT_BINS)
	@BUILD=$(BUILD) tests/run.sh

unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh unit

integration: all $(IT_BINS)
	@BUILD=$(BUILD) tests/run.sh integration

# Longer runs than `make test` allows: the random-operation test at 1,000,000 ops.
soak: all $(IT_BINS)
	@BUILD=$(BUILD) KVFS_SOAK=1 tests/run.sh integration

bench: all
	@BUILD=$(BUILD) tools/bench.sh

asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g" EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

deps:
	@if pkg-config --exists $(PKGS) cmocka && command -v fusermount3 >/dev/null \
	    && command -v getfattr >/dev/null && command -v sqlite3 >/dev/null; then \
	  echo "kvfs: build dependencies present"; \
	else \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); \
	fi

# `make mount [MNT=dir] [KVFS_OPTS=mem=8G,...]`: build and mount with defaults.
MNT ?= mnt
mount: all
	@mkdir -p $(MNT)
	$(BUILD)/kvfs $(MNT) $(if $(KVFS_OPTS),-o $(KVFS_OPTS))
	@echo "kvfs mounted at $(MNT); unmount with: make umount MNT=$(MNT)  (or fusermount3 -u $(MNT))"

umount:
	fusermount3 -u $(MNT)

clean:
	rm -rf build build-asan

help:
	@echo "make            build $(BUILD)/kvfs and the tools"
	@echo "make deps       install the Debian packages the build needs (as root)"
	@echo "make test       build and run every unit and integration test"
	@echo "make unit       unit tests only;  make integration: integration tests only"
	@echo "make asan       the tests under AddressSanitizer and UBSan (in build-asan/)"
	@echo "make soak       longer integration runs (1,000,000 random operations)"
	@echo "make bench      benchmark against tmpfs, a local-disk directory and memcpy"
	@echo "make mount      build and mount at MNT (default ./mnt), options in KVFS_OPTS"
	@echo "make umount     unmount MNT"
	@echo "make clean      remove build outputs;  V=1 shows each command"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
