#!/usr/bin/env bash
# test_build_split.sh - the build keeps libfuse out of the daemon's core
# (STYLE.md: only the FUSE adaptor includes fuse_lowlevel.h).  In a copy of
# the Makefile, fs/ and index/: a core file that includes <fuse_lowlevel.h>,
# or reaches it as <fuse3/fuse_lowlevel.h>, fails to build with a line naming
# it; a core file without it builds.  And the programs that link only the
# core (kvfsctl, the benchmarks, the unit tests) do not need libfuse3.so.
# No FUSE mount needed.
. "$(dirname "$0")/lib.sh"
t_require_cmd make readelf pkg-config
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

W=$T_DIR/tree
mkdir -p "$W"
cp -r "$ROOT/Makefile" "$ROOT/fs" "$ROOT/index" "$W/"

# t_core_build NAME SOURCE: write fs/NAME.c and build its object in the copy;
# the output is in $T_DIR/NAME.out, the status is make's.
t_core_build() {
	printf '%s\n' "$2" >"$W/fs/$1.c"
	make -C "$W" --no-print-directory BUILD=b CHECKS=0 "b/fs/$1.o" >"$T_DIR/$1.out" 2>&1
}

t_core_build ok_probe '#include "log.h"
int kvfs_ok_probe(void) { return 0; }' ||
	t_fail "a core file without FUSE did not build: $(cat "$T_DIR/ok_probe.out")"
[[ -f $W/b/fs/ok_probe.o ]] || t_fail "the core object was not made"

if t_core_build bad_plain '#include <fuse_lowlevel.h>
int kvfs_bad_plain(void) { return 0; }'; then
	t_fail "a core file including <fuse_lowlevel.h> built"
fi
grep -q "core code (built without FUSE) includes fuse_lowlevel.h" "$T_DIR/bad_plain.out" ||
	t_fail "the failure does not say why: $(cat "$T_DIR/bad_plain.out")"
[[ ! -e $W/b/fs/bad_plain.o ]] || t_fail "an object was left for bad_plain"

# <fuse3/...> is on the compiler's default include path: the build's
# stand-in headers must catch it too.
if t_core_build bad_fuse3 '#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>
int kvfs_bad_fuse3(void) { return 0; }'; then
	t_fail "a core file including <fuse3/fuse_lowlevel.h> built"
fi
grep -q "core code (built without FUSE) includes fuse_lowlevel.h" "$T_DIR/bad_fuse3.out" ||
	t_fail "no line names the file: $(cat "$T_DIR/bad_fuse3.out")"
[[ ! -e $W/b/fs/bad_fuse3.o ]] || t_fail "an object was left for bad_fuse3"

# Programs built from the core alone.
needs_fuse() { readelf -d "$1" | grep -q 'NEEDED.*libfuse3'; }
needs_fuse "$BUILD/kvfs" || t_fail "the daemon does not link libfuse3 (is the check reading the right file?)"
for b in "$BUILD/kvfsctl" "$BUILD/kvfs-bench" "$BUILD/kvfs-bench-index" "$BUILD"/tests/unit/test_*; do
	[[ -x $b ]] || continue
	! needs_fuse "$b" || t_fail "$(basename "$b") links libfuse3"
	nchecked=$((${nchecked:-0} + 1))
done
((nchecked >= 5)) || t_fail "only ${nchecked:-0} core programs found to check"
t_log "core builds without FUSE; $nchecked core programs checked"
