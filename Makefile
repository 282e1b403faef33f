# kvfs - build, test and benchmark.  `make help` lists the targets.

# The test build (make test, make asan, make soak) turns on the invariant
# checkers (KVFS_DCHECK, kvfs_*_check()) and lives in build-test/, so that
# `make`, `make mount` and `make bench` keep their unchecked objects in
# build/.  CHECKS=1 or 0 overrides either way.
CHECKS   ?= $(if $(filter test unit integration soak,$(MAKECMDGOALS)),1,0)
BUILD    ?= $(if $(filter 1,$(CHECKS)),build-test,build)
CC       ?= cc
# Libraries, by pkg-config name.  The daemon's core (everything but
# FUSE_SRCS) and every tool and unit test build without fuse3: its include
# path and -lfuse3 reach only the FUSE adaptor and the daemon's link.
CORE_PKGS := sqlite3 liburing
PKGS      := fuse3 $(CORE_PKGS)
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/kvfs
UNITDIR  ?= $(PREFIX)/lib/systemd/system
# mount(8) looks for mount.<type> helpers in /sbin only, whatever PREFIX is.
MOUNT_HELPER_DIR ?= /sbin
INSTALL  ?= install

# Flags are asked of pkg-config when first used, not when the Makefile is
# read: `make deps mount` installs the libraries in its first step, and the
# compiles after it must see them.  (`X = $(eval X := ...)$(X)` runs the
# shell once, at first use.)
pc = $(shell pkg-config $(1) $(2) 2>/dev/null)
CORE_CFLAGS = $(eval CORE_CFLAGS := $(call pc,--cflags,$(CORE_PKGS)))$(CORE_CFLAGS)
CORE_LIBS   = $(eval CORE_LIBS := $(call pc,--libs,$(CORE_PKGS)))$(CORE_LIBS)
FUSE_CFLAGS = $(eval FUSE_CFLAGS := $(call pc,--cflags,fuse3))$(FUSE_CFLAGS)
FUSE_LIBS   = $(eval FUSE_LIBS := $(call pc,--libs,fuse3))$(FUSE_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $(call pc,--libs,cmocka))$(CMOCKA_LIBS)

CFLAGS   ?= -O2 -g
override CFLAGS += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -MMD -MP \
            -Ifs -Iindex $(if $(filter 1,$(CHECKS)),-DKVFS_DEBUG) $(EXTRA_CFLAGS)
override LDFLAGS += -pthread $(EXTRA_LDFLAGS)
LDLIBS   += $(CORE_LIBS) -lm

# The daemon's core links without FUSE (unit tests, tools); only these files
# include fuse_lowlevel.h.
FUSE_SRCS := fs/ops.c fs/notify.c fs/optimer.c fs/main.c fs/kconn.c
CORE_SRCS := $(filter-out $(FUSE_SRCS),$(wildcard fs/*.c)) $(wildcard index/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
FUSE_OBJS := $(FUSE_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
IT_SRCS   := $(wildcard tests/integration/*.c)
IT_BINS   := $(IT_SRCS:tests/integration/%.c=$(BUILD)/tests/it/%)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/%)
# kvfsctl is tools/kvfsctl.c plus its larger subcommands in tools/kvfsctl/.
KVFSCTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/kvfsctl/*.c))

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all test unit integration bench pjdfstest asan soak deps help clean check-deps check-tier mount umount
all: check-deps $(BUILD)/kvfs $(TOOL_BINS) $(BUILD)/mount.kvfs

# Every compile waits for check-deps, and check-deps for deps when deps is
# asked for too: `make -j deps mount` installs before it compiles.
check-deps: $(filter deps,$(MAKECMDGOALS))
	@pkg-config --exists $(PKGS) cmocka || { \
	  echo "kvfs: missing build dependencies ($(PKGS) cmocka); run 'make deps' (as root, or with sudo installed)"; exit 1; }

# The FUSE adaptor: the only objects compiled with fuse3's include path.
$(FUSE_OBJS): $(BUILD)/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(FUSE_CFLAGS) $(CORE_CFLAGS) -c -o $@ $<

# Everything else: the core, the tools' objects, built without fuse3's
# include path and with $(BUILD)/nofuse first on it: every libfuse header
# name there (also as <fuse3/...>) is an #error, so a core object that
# includes one fails the build with a line naming the file.
NOFUSE_HDRS := fuse_lowlevel.h fuse_common.h fuse.h fuse_opt.h fuse_log.h
NOFUSE := $(BUILD)/nofuse/.made
$(NOFUSE):
	@mkdir -p $(BUILD)/nofuse/fuse3
	$(Q)for h in $(NOFUSE_HDRS); do \
	  printf '#error "kvfs: core code (built without FUSE) includes %s; only $(FUSE_SRCS) may"\n' \
	    "$$h" | tee $(BUILD)/nofuse/$$h >$(BUILD)/nofuse/fuse3/$$h; done
	@touch $@

$(BUILD)/%.o: %.c | check-deps $(NOFUSE)
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -I$(BUILD)/nofuse $(CORE_CFLAGS) -c -o $@ $<

# One owner for a file's tier state (fs/tier.h): outside fs/tier.c no code
# writes an inode's `t`, it calls a verb.  Checked before the core is
# archived, so a build with such a line fails, naming it.
TIER_CHECK := $(BUILD)/tier-owner.ok
$(TIER_CHECK): tools/check-tier.sh $(wildcard fs/*.c fs/*.h index/*.c index/*.h)
	@mkdir -p $(dir $@)
	$(call msg,CHECK,tier-owner)
	$(Q)tools/check-tier.sh && touch $@

check-tier: $(TIER_CHECK)

$(BUILD)/libkvfs-core.a: $(CORE_OBJS) | $(TIER_CHECK)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/kvfs: $(FUSE_OBJS) $(BUILD)/libkvfs-core.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(FUSE_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libkvfs-core.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CORE_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libkvfs-core.a $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/tests/it/%: tests/integration/%.c $(BUILD)/libkvfs-core.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CORE_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkvfs-core.a $(LDLIBS)

$(BUILD)/%: tools/%.c $(BUILD)/libkvfs-core.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CORE_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkvfs-core.a $(LDLIBS)

$(BUILD)/kvfsctl: tools/kvfsctl.c $(KVFSCTL_OBJS) $(BUILD)/libkvfs-core.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CORE_CFLAGS) $(LDFLAGS) -o $@ $< $(KVFSCTL_OBJS) $(BUILD)/libkvfs-core.a $(LDLIBS)

# The mount helper with this build's kvfs, for tests and use from the tree.
$(BUILD)/mount.kvfs: mount-helpers/mount.kvfs
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)sed 's|@BINDIR@|$(abspath $(BUILD))|' $< >$@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

test: all $(UNIT_BINS) $(IT_BINS)
	@BUILD=$(BUILD) tests/run.sh

unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh unit

integration: all $(IT_BINS)
	@BUILD=$(BUILD) tests/run.sh integration

# Longer runs than `make test` allows: the random-operation test at 1,000,000
# ops, 200 kill -9 rounds of test_crash (KVFS_SOAK=1 reaches every test).
soak: all $(IT_BINS)
	@BUILD=$(BUILD) KVFS_SOAK=1 tests/run.sh integration

bench: all $(BUILD)/tests/it/gpu_cuda
	@BUILD=$(BUILD) tools/bench.sh

# pjdfstest (a POSIX suite, never part of this tree) on fresh mounts in both
# I/O modes: `make pjdfstest PJDFSTEST=<its source tree>`, as root.
pjdfstest: all
	@BUILD=$(BUILD) tools/pjdfstest.sh "$(PJDFSTEST)"

asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g" EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

# The Debian packages: the list is in tools/deps.sh (.ci/run uses it too),
# which installs what is missing, through sudo when not run as root.
deps:
	@tools/deps.sh

# `make mount [MNT=dir] [SSD=dir] [SSD_SIZE=8G] [STATE=dir] [KVFS_OPTS=mem=8G,...]`:
# build and mount with defaults: an SSD tier of SSD_SIZE in SSD (SSD= empty:
# none) and the index in STATE, all three beside the Makefile, so that a
# checkout's mount never meets another checkout's (or an installed daemon's)
# index in /var/lib/kvfs.
MNT ?= mnt
SSD ?= ssd
SSD_SIZE ?= 4G
STATE ?= state
comma := ,
MOUNT_OPTS = state=$(abspath $(STATE))$(if $(SSD),$(comma)ssd=$(abspath $(SSD))$(comma)ssd_size=$(SSD_SIZE))$(if $(KVFS_OPTS),$(comma)$(KVFS_OPTS))
mount: all
	@mkdir -p $(MNT) $(STATE) $(if $(SSD),$(SSD))
	$(BUILD)/kvfs $(MNT) -o $(MOUNT_OPTS)
	@echo "kvfs mounted at $(MNT); unmount with: make umount MNT=$(MNT)  (or fusermount3 -u $(MNT))"

# The daemon keeps its memory tier in $(STATE)/mem for a restart to adopt;
# `make umount` gives that memory back too.  Lazily: the daemon may still be
# closing its files there (its last pages go when it has).
umount:
	fusermount3 -u $(MNT)
	@! mountpoint -q $(STATE)/mem || umount -l $(STATE)/mem

# `make install [PREFIX=/usr] [DESTDIR=...]`: every part, where Debian keeps
# them.  Each part has its own target; the GPU library's install-gpu joins
# INSTALL_TARGETS.
.PHONY: install uninstall install-bin install-mount-helper install-systemd install-man install-doc
INSTALL_TARGETS := install-bin install-mount-helper install-systemd install-man install-doc
install: $(INSTALL_TARGETS)

install-bin: $(BUILD)/kvfs $(BUILD)/kvfsctl
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(BUILD)/kvfs $(BUILD)/kvfsctl $(DESTDIR)$(BINDIR)/

install-mount-helper:
	$(INSTALL) -d $(DESTDIR)$(MOUNT_HELPER_DIR)
	sed 's|@BINDIR@|$(BINDIR)|' mount-helpers/mount.kvfs >$(DESTDIR)$(MOUNT_HELPER_DIR)/mount.kvfs
	chmod 755 $(DESTDIR)$(MOUNT_HELPER_DIR)/mount.kvfs
	ln -sf mount.kvfs $(DESTDIR)$(MOUNT_HELPER_DIR)/mount.fuse.kvfs

install-systemd:
	$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	sed 's|@BINDIR@|$(BINDIR)|' mount-helpers/kvfs@.service >$(DESTDIR)$(UNITDIR)/kvfs@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/kvfs@.service

install-man:
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 644 man/kvfs.8 man/kvfsctl.8 man/mount.kvfs.8 $(DESTDIR)$(MANDIR)/man8/
	echo '.so man8/mount.kvfs.8' >$(DESTDIR)$(MANDIR)/man8/mount.fuse.kvfs.8
	$(INSTALL) -m 644 man/libkvfs-gpu.3 $(DESTDIR)$(MANDIR)/man3/

install-doc:
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 644 README.md docs/tooling.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 644 mount-helpers/fstab.example $(DESTDIR)$(DOCDIR)/examples/fstab

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kvfs $(DESTDIR)$(BINDIR)/kvfsctl \
	  $(DESTDIR)$(MOUNT_HELPER_DIR)/mount.kvfs $(DESTDIR)$(MOUNT_HELPER_DIR)/mount.fuse.kvfs \
	  $(DESTDIR)$(UNITDIR)/kvfs@.service \
	  $(DESTDIR)$(MANDIR)/man8/kvfs.8 $(DESTDIR)$(MANDIR)/man8/kvfsctl.8 \
	  $(DESTDIR)$(MANDIR)/man8/mount.kvfs.8 $(DESTDIR)$(MANDIR)/man8/mount.fuse.kvfs.8 \
	  $(DESTDIR)$(MANDIR)/man3/libkvfs-gpu.3
	rm -rf $(DESTDIR)$(DOCDIR)

# ---- libkvfs-gpu (gpu/, docs/gpu.md): the GPU fast path's client library ----
# build/libkvfs_gpu.{a,so} and build/kvfs-gpu.pc; helpers tests/integration/
# gpu_*.c and tools/kvfs-gpu-bench.c link it; the daemon's side is in the core.
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
GPU_VERSION := 0.2.0
GPU_SONAME  := libkvfs_gpu.so.1
GPU_SRCS := $(wildcard gpu/*.c)
GPU_OBJS := $(GPU_SRCS:%.c=$(BUILD)/%.o)
GPU_A    := $(BUILD)/libkvfs_gpu.a
GPU_SO   := $(BUILD)/libkvfs_gpu.so
GPU_PC   := $(BUILD)/kvfs-gpu.pc
GPU_LIBS := -ldl -pthread
# The fuzz target needs clang with libFuzzer (Debian: clang, libclang-rt-dev).
FUZZ_CC   ?= clang
FUZZ_BIN  := $(BUILD)/fuzz/fuzz_fastpath
FUZZ_TIME ?= 300

.PHONY: gpu fuzz fuzz-build install-gpu uninstall-gpu
all: gpu
gpu: $(GPU_A) $(GPU_SO) $(GPU_PC)
test: fuzz-build
install: install-gpu
uninstall: uninstall-gpu

$(BUILD)/gpu/%.o: gpu/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -Igpu -c -o $@ $<

$(GPU_A): $(GPU_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(GPU_SO): $(GPU_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,-soname,$(GPU_SONAME) -o $@ $^ $(GPU_LIBS)

# pkg-config file: `pc_file PREFIX LIBDIR INCLUDEDIR OUT`.
pc_file = sed -e 's|@PREFIX@|$(1)|' -e 's|@LIBDIR@|$(2)|' -e 's|@INCLUDEDIR@|$(3)|' \
	  -e 's|@VERSION@|$(GPU_VERSION)|' gpu/kvfs-gpu.pc.in >$(4)

$(GPU_PC): gpu/kvfs-gpu.pc.in Makefile
	$(call msg,GEN,$@)
	$(Q)$(call pc_file,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),$@)

$(BUILD)/tests/it/gpu_%: tests/integration/gpu_%.c $(GPU_A)
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Igpu -Itests/fake $(LDFLAGS) -o $@ $< $(GPU_A) $(GPU_LIBS)

# gpu/cuda_drv.h compiled against the CUDA toolkit's cuda.h where one is
# installed (CUDA_INC); without it the test skips.
CUDA_INC ?= /usr/local/cuda/include
$(BUILD)/tests/unit/test_cuda_decls: tests/unit/test_cuda_decls.c gpu/cuda_drv.h
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Igpu $(if $(wildcard $(CUDA_INC)/cuda.h),-DHAVE_CUDA_H -I$(CUDA_INC)) \
	  $(LDFLAGS) -o $@ $< $(CMOCKA_LIBS)

# The stand-in CUDA driver (tests/fake/fake_cuda.c) that test_gpu_fakecuda.sh
# puts first on LD_LIBRARY_PATH, so the CUDA backend runs where no GPU is.
# -z defs: an entry of cuda_drv.h declared but not defined fails here, not at
# dlopen.
FAKE_CUDA := $(BUILD)/fake-cuda/libcuda.so.1
test integration: $(FAKE_CUDA)
$(FAKE_CUDA): tests/fake/fake_cuda.c tests/fake/fake_cuda.h gpu/cuda_drv.h
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -Igpu -shared -Wl,-soname,libcuda.so.1 -Wl,-z,defs \
	  $(LDFLAGS) -o $@ $<

$(BUILD)/kvfs-gpu-bench: tools/kvfs-gpu-bench.c $(GPU_A)
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Igpu $(LDFLAGS) -o $@ $< $(GPU_A) $(GPU_LIBS)

# The daemon's ioctl decoding under libFuzzer, with the whole core compiled
# in (ASan, UBSan).  `make test` builds it where clang has libFuzzer and
# runs it for a few seconds (tests/integration/test_gpu_fuzz.sh); `make fuzz`
# runs it for FUZZ_TIME seconds.
$(FUZZ_BIN): tests/fuzz/fuzz_fastpath.c $(CORE_SRCS) $(wildcard fs/*.h index/*.h)
	@mkdir -p $(dir $@)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -Wall -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Ifs -Iindex $(CORE_CFLAGS) -o $@ $< $(CORE_SRCS) \
	  $(CORE_LIBS) -lm -pthread

fuzz-build:
	@if printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return !d + (int)n; }\n' | \
	    $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then \
	  $(MAKE) --no-print-directory BUILD=$(BUILD) CHECKS=$(CHECKS) $(FUZZ_BIN); \
	else \
	  echo "  SKIP   fuzzer: no $(FUZZ_CC) with libFuzzer (make deps installs clang, libclang-rt-dev)"; \
	fi

fuzz: fuzz-build
	@mkdir -p $(BUILD)/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -timeout=10 $(BUILD)/fuzz/corpus tests/fuzz/seeds

install-gpu: gpu
	$(INSTALL) -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/kvfs \
	  $(DESTDIR)$(DATADIR)/kvfs/python
	$(INSTALL) -m 644 $(GPU_A) $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 755 $(GPU_SO) $(DESTDIR)$(LIBDIR)/$(GPU_SONAME)
	ln -sf $(GPU_SONAME) $(DESTDIR)$(LIBDIR)/libkvfs_gpu.so
	$(INSTALL) -m 644 gpu/kvfs_gpu.h fs/kvfs_abi.h $(DESTDIR)$(INCLUDEDIR)/kvfs/
	$(call pc_file,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),$(DESTDIR)$(LIBDIR)/pkgconfig/kvfs-gpu.pc)
	$(INSTALL) -m 644 gpu/python/kvfs_gpu.py $(DESTDIR)$(DATADIR)/kvfs/python/

uninstall-gpu:
	rm -f $(DESTDIR)$(LIBDIR)/libkvfs_gpu.a $(DESTDIR)$(LIBDIR)/$(GPU_SONAME) \
	  $(DESTDIR)$(LIBDIR)/libkvfs_gpu.so $(DESTDIR)$(LIBDIR)/pkgconfig/kvfs-gpu.pc \
	  $(DESTDIR)$(INCLUDEDIR)/kvfs/kvfs_gpu.h $(DESTDIR)$(INCLUDEDIR)/kvfs/kvfs_abi.h \
	  $(DESTDIR)$(DATADIR)/kvfs/python/kvfs_gpu.py
	-rmdir $(DESTDIR)$(INCLUDEDIR)/kvfs $(DESTDIR)$(DATADIR)/kvfs/python 2>/dev/null

clean:
	rm -rf build build-test build-asan

help:
	@echo "make            build $(BUILD)/kvfs and the tools"
	@echo "make deps       install the Debian packages of tools/deps.sh (as root, or through sudo)"
	@echo "make test       build (build-test/, invariant checkers on) and run every unit and integration test"
	@echo "make unit       unit tests only;  make integration: integration tests only"
	@echo "make check-tier the tier-owner check alone (tools/check-tier.sh; every build runs it)"
	@echo "make asan       the tests under AddressSanitizer and UBSan (in build-asan/)"
	@echo "make soak       longer integration runs (1,000,000 random operations, 200 crashes)"
	@echo "make bench      benchmark against tmpfs, a local-disk directory and memcpy"
	@echo "make pjdfstest PJDFSTEST=dir   the pjdfstest suite (its source tree in dir) in both I/O modes"
	@echo "make mount      build and mount at MNT (default ./mnt), SSD tier in SSD (./ssd, SSD_SIZE 4G),"
	@echo "                index in STATE (./state), more options in KVFS_OPTS"
	@echo "make install    kvfs, kvfsctl, mount.kvfs (in /sbin), kvfs@.service, man pages;"
	@echo "                PREFIX (default /usr/local), DESTDIR; make uninstall removes them"
	@echo "make gpu        libkvfs-gpu: $(BUILD)/libkvfs_gpu.{a,so}, kvfs-gpu.pc (make builds it)"
	@echo "make install-gpu   its library, headers, .pc and Python module (part of install)"
	@echo "make fuzz       the ioctl fuzzer for FUZZ_TIME seconds (default 300; needs clang)"
	@echo "make umount     unmount MNT"
	@echo "make clean      remove build outputs;  V=1 shows each command"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
