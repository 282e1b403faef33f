#!/bin/bash
# pjdfstest.sh - `make pjdfstest PJDFSTEST=DIR`: the POSIX conformance
# suite pjdfstest on fresh kvfs mounts, in each I/O mode, as root.
#
# DIR is a pjdfstest source tree (github.com/pjd/pjdfstest; never copied
# into this repository).  Built there if its pjdfstest binary is missing
# (needs autoconf and automake).  Its tests are copied to a temporary
# directory, and what kvfs refuses by design is taken out of them first:
# the mkfifo, mknod and link directories, and the types fifo, block, char
# and socket from the tests' loops over file types (link, mkfifo, mknod
# and bind of a socket give EPERM: docs/design.md, "Errors chosen where
# POSIX leaves room").  The few tests that make such a file outside a loop
# still fail; a failure counts as expected when it is a refused
# link/mkfifo/mknod/bind, names a path one of those refused, or checks a
# link count after a refused link, and as a defect otherwise.
#
# Each mode runs on its own mount (mem=1G, allow_other):
#   passthrough=auto (the kernel serves the data), passthrough=0 (the
#   daemon serves it); PJDFSTEST_MODES="auto 0" by default.  PJDFSTEST_SSD=1
#   adds an SSD tier under the temporary directory.
# Prints, per mode, the tests run, the expected failures and every other
# failure; exits 1 if any mode had one.
set -euo pipefail

SRC=${1:-${PJDFSTEST:-}}
MODES=${PJDFSTEST_MODES:-auto 0}
BUILD=${BUILD:-build}
die() { echo "pjdfstest.sh: $*" >&2; exit 2; }

[[ -n $SRC ]] || die "usage: make pjdfstest PJDFSTEST=<pjdfstest source tree>"
[[ -d $SRC/tests ]] || die "$SRC has no tests/ directory: not a pjdfstest tree"
[[ $(id -u) -eq 0 ]] || die "run as root: the tests change owners and modes"
command -v prove >/dev/null || die "prove (perl) is missing"
KVFS_BIN=$(realpath "$BUILD/kvfs") || die "$BUILD/kvfs is missing: run make"
SRC=$(realpath "$SRC")
if [[ ! -x $SRC/pjdfstest ]]; then
	command -v autoreconf >/dev/null ||
		die "$SRC/pjdfstest is not built and autoreconf is missing (apt-get install autoconf automake)"
	(cd "$SRC" && autoreconf -ifs && ./configure && make pjdfstest) >/dev/null ||
		die "building pjdfstest in $SRC failed"
fi

TMP=$(mktemp -d /tmp/kvfs-pjdfstest.XXXXXX)
MNT= PID=
cleanup() {
	local rc=$?
	if [[ -n $MNT ]] && mountpoint -q "$MNT"; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
	[[ -n $PID ]] && wait "$PID" 2>/dev/null || true
	for m in $(awk -v t="$TMP/" 'index($2, t) == 1 { print $2 }' /proc/mounts); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$TMP"
	exit "$rc"
}
trap cleanup EXIT

# The suite, less what kvfs refuses by design.  The tests find their
# binary as ../../pjdfstest from their own directory.
mkdir -p "$TMP/suite"
cp -r "$SRC/tests" "$TMP/suite/tests"
cp "$SRC/pjdfstest" "$TMP/suite/pjdfstest"
rm -rf "$TMP/suite/tests/"{mkfifo,mknod,link}
grep -rlE '^[[:space:]]*for .* in .*(fifo|block|char|socket)' "$TMP/suite/tests" |
	xargs -r sed -i -E '/^[[:space:]]*for .* in /{s/ fifo\b//g; s/ block\b//g; s/ char\b//g; s/ socket\b//g}'

# Reads `prove -v` output of one test (name in $1 of each line); prints
# "expected N" and the unexpected failures.  A failure line names its
# command: `not ok 12 - tried 'mkfifo a 0644', expected 0, got EPERM`.
classify() {
	awk -v q="'" '
	/^not ok/ && /# TODO/ { next }
	/^not ok/ {
		at = index($0, "tried " q)
		if (at) {
			cmd = substr($0, at + 7)
			cmd = substr(cmd, 1, index(cmd, q) - 1)
			n = split(cmd, w, " ")
			ex = 0
			for (i = 1; i <= n; i++)
				if (w[i] in refused) ex = 1
			# a link count after a refused link (renamed since, too)
			if (nolink && cmd ~ /nlink/) ex = 1
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^(mkfifo|mknod|link|bind)$/ && $0 ~ /got EPERM/) {
					for (j = i + 1; j <= n; j++) refused[w[j]] = 1
					if (w[i] == "link") nolink = 1
					ex = 1
				}
			last = ex
		} else {
			ex = last	# a check without a command: the one before it
		}
		if (ex) expected++
		else { unexpected++; print "  " test ": " $0 }
		next
	}
	/^== / { test = $2; delete refused; last = 0; nolink = 0 }
	END { printf "  expected failures: %d, unexpected: %d\n", expected, unexpected }
	'
}

bad=0
for mode in $MODES; do
	MNT=$TMP/mnt-$mode
	mkdir -p "$MNT"
	opts="state=$TMP/state-$mode,mem=1G,allow_other,passthrough=$mode"
	if [[ ${PJDFSTEST_SSD:-0} == 1 ]]; then
		mkdir -p "$TMP/slabs-$mode"
		opts+=",ssd=$TMP/slabs-$mode,ssd_size=2G"
	fi
	"$KVFS_BIN" "$MNT" -f -o "$opts" >"$TMP/kvfs-$mode.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.1; done
	mountpoint -q "$MNT" || { cat "$TMP/kvfs-$mode.log" >&2; die "kvfs did not mount ($opts)"; }
	(
		cd "$MNT"
		for t in "$TMP"/suite/tests/*/*.t; do
			echo "== ${t#"$TMP"/suite/tests/}"
			timeout 300 prove -v "$t" 2>&1 || true
		done
	) >"$TMP/prove-$mode.txt"
	tests=$(grep -c '^== ' "$TMP/prove-$mode.txt" || true)
	echo "passthrough=$mode: $tests test files ($opts)"
	classify <"$TMP/prove-$mode.txt" | tee "$TMP/result-$mode.txt"
	grep -q '^  expected failures: [0-9]*, unexpected: 0$' "$TMP/result-$mode.txt" || bad=1
	fusermount3 -u "$MNT"
	wait "$PID" || true
	PID=
	umount -l "$TMP/state-$mode/mem" 2>/dev/null || true
done
exit "$bad"
