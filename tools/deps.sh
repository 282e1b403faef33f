#!/bin/sh
# tools/deps.sh - install the Debian packages kvfs needs to build, test and
# benchmark.  This is the one list: `make deps` runs this script, and so does
# .ci/run (through `make deps`, or directly where make itself is missing).
#
#   tools/deps.sh            install what is missing (apt-get; sudo when not root)
#   tools/deps.sh --list     print the list, one package a line
#
# Exits 0 when every package is installed, 1 with one line saying why not.
set -eu

PKGS="
fuse3 libfuse3-dev libsqlite3-dev liburing-dev libcmocka-dev pkg-config
gcc make sqlite3 attr coreutils diffutils util-linux procps mount
tmux python3 man-db groff-base gnuplot-nox fio
e2fsprogs
clang libclang-rt-dev
"
# What each is for: the first line builds kvfs; gcc and make build it too
# (minimal images lack them); sqlite3, attr (getfattr), util-linux, procps
# and mount are used by the integration tests; tmux drives `kvfsctl top` in
# its test, python3 checks JSON and emulates engines, man-db and groff-base
# render the man pages, gnuplot-nox draws the benchmark chart, fio is the
# benchmark's outside I/O mirror; e2fsprogs makes the ext4 image of the SSD
# fault test; clang with libclang-rt-dev builds the ioctl fuzzer.

if [ "${1:-}" = --list ]; then
	for p in $PKGS; do echo "$p"; done
	exit 0
fi

missing=
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$s" = "install ok installed" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "kvfs: build dependencies present"
	exit 0
fi

if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	echo "kvfs: missing packages:$missing; run this as root (or install sudo)" >&2
	exit 1
fi
echo "kvfs: installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
# shellcheck disable=SC2086 # word splitting of the list is intended
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing </dev/null
