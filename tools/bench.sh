#!/usr/bin/env bash
# bench.sh - `make bench`: kvfs side by side with tmpfs, a local-disk directory
# and memcpy, in one run of build/kvfs-bench (see docs/bench.md).
#
# Mounts a kvfs (mem=5G) and a tmpfs (size=5G; /dev/shm when not root) in a
# temporary directory, makes a directory on the local disk (/var/tmp), runs
# kvfs-bench on the three, prints the table and the ratios, and keeps the
# results in $BUILD/bench/results.{json,txt}.  Whatever happens, the EXIT trap
# unmounts everything, stops the daemon it started and removes its files.
#
# usage: tools/bench.sh [--quick] [extra kvfs-bench options]
# environment:
#   BUILD=build            where kvfs and kvfs-bench are
#   BENCH_REPEAT=N         runs of each measurement, median reported (default 3)
#   BENCH_TARGETS="..."    subset of "kvfs tmpfs disk" (default all three)
#   BENCH_DISK_DIR=DIR     parent of the local-disk directory (default /var/tmp)
#   KVFS_MEM=5G            the daemon's mem= (the arena; bounds what kvfs holds)
#   KVFS_OPTS=...          more -o options for the daemon, e.g. io=cached,threads=4
set -euo pipefail

BUILD=${BUILD:-build}
REPEAT=${BENCH_REPEAT:-3}
TARGETS=${BENCH_TARGETS:-kvfs tmpfs disk}
DISK_PARENT=${BENCH_DISK_DIR:-/var/tmp}
KVFS_MEM=${KVFS_MEM:-5G}
KVFS_OPTS=${KVFS_OPTS:-}
OUT_DIR=$BUILD/bench
# (b) keeps 500 x 8 MiB = 3.9 GiB at once; every filesystem needs that plus slack.
NEED_KIB=$((4500 * 1024))

die() { echo "bench.sh: $*" >&2; exit 1; }

quick=()
args=()
for a in "$@"; do
	case $a in
	--quick) quick=(--quick) ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) args+=("$a") ;;
	esac
done

[[ -x $BUILD/kvfs-bench ]] || die "$BUILD/kvfs-bench is missing: run make"
[[ $TARGETS != *kvfs* || -x $BUILD/kvfs ]] || die "$BUILD/kvfs is missing: run make"
mkdir -p "$OUT_DIR"
BENCH_BIN=$(realpath "$BUILD/kvfs-bench")
KVFS_BIN=$(realpath "$BUILD/kvfs" 2>/dev/null || true)
OUT_DIR=$(realpath "$OUT_DIR")

# kvfs-bench holds one file open at a time; the daemon may keep one fd per open
# handle and its arena, SQLite and log files.  Raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

TMP=$(mktemp -d /tmp/kvfs-bench.XXXXXX)
MNT=$TMP/kvfs
STATE=$TMP/state
TMPFS=
TMPFS_MOUNTED=0
DISK=
KVFS_PID=

is_mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	if [[ -n $KVFS_PID ]]; then
		if is_mounted "$MNT"; then
			fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null \
				|| umount -l "$MNT" 2>/dev/null || echo "bench.sh: cannot unmount $MNT" >&2
		fi
		# The daemon exits once unmounted; give it 10 s, then stop it.
		for ((i = 0; i < 100; i++)); do
			kill -0 "$KVFS_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$KVFS_PID" 2>/dev/null; then
			kill -TERM "$KVFS_PID" 2>/dev/null; sleep 2
			kill -KILL "$KVFS_PID" 2>/dev/null || true
		fi
		wait "$KVFS_PID" 2>/dev/null || true
	fi
	if ((TMPFS_MOUNTED)); then
		umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS" 2>/dev/null || true
	elif [[ -n $TMPFS ]]; then
		rm -rf "$TMPFS"
	fi
	[[ -n $DISK ]] && rm -rf "$DISK"
	if ! awk -v t="$TMP/" 'index($2, t) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
		[[ $rc -ne 0 && -s $TMP/kvfs.log ]] && cp "$TMP/kvfs.log" "$OUT_DIR/kvfs.log" \
			&& echo "bench.sh: daemon log kept in $OUT_DIR/kvfs.log" >&2
		rm -rf --one-file-system "$TMP"
	else
		echo "bench.sh: something is still mounted under $TMP; left it there" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

shmem_kib() { awk '/^Shmem:/ { print $2 }' /proc/meminfo; }
rss_shmem_kib() { awk '/^RssShmem:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
size_kib() {
	local n=${1%[KkMmGgTt]} s=${1: -1}
	case $s in
	K|k) echo "$n" ;; M|m) echo $((n * 1024)) ;; G|g) echo $((n * 1024 * 1024)) ;;
	T|t) echo $((n * 1024 * 1024 * 1024)) ;; *) echo $((n / 1024)) ;;
	esac
}

# Waits for the daemon's background prefault of its arena (prefault=1): the
# daemon says nothing about it, so watch the shared memory it faults in until
# it reaches mem= or stops growing for 2 s.  Prints the seconds waited.
wait_prefault() {
	local want=$(($(size_kib "$KVFS_MEM") * 95 / 100)) base=$1 start=$SECONDS
	local last=-1 still=0 rss shm grown
	while ((SECONDS - start < 120)); do
		rss=$(rss_shmem_kib "$KVFS_PID")
		shm=$(shmem_kib)
		grown=$((shm - base > rss ? shm - base : rss))
		((grown >= want)) && break
		if ((grown == last)); then
			((++still >= 4)) && break
		else
			still=0
		fi
		last=$grown
		sleep 0.5
	done
	echo "$((SECONDS - start)) $((grown / 1024))"
}

mount_kvfs() {
	local opts="state=$STATE,mem=$KVFS_MEM${KVFS_OPTS:+,$KVFS_OPTS}" base i waited
	mkdir -p "$MNT" "$STATE"
	base=$(shmem_kib)
	"$KVFS_BIN" "$MNT" -f -o "$opts" >"$TMP/kvfs.log" 2>&1 &
	KVFS_PID=$!
	for ((i = 0; i < 300; i++)); do
		awk -v m="$MNT" '$2 == m && $3 ~ /^fuse/ { found = 1 } END { exit !found }' \
			/proc/mounts && break
		kill -0 "$KVFS_PID" 2>/dev/null || { cat "$TMP/kvfs.log" >&2; die "kvfs exited at start"; }
		sleep 0.1
	done
	is_mounted "$MNT" || { cat "$TMP/kvfs.log" >&2; die "kvfs did not mount $MNT in 30 s"; }
	read -r waited PREFAULT_MIB < <(wait_prefault "$base")
	PREFAULT_S=$waited
	echo "kvfs: mounted $MNT -o $opts (pid $KVFS_PID); waited ${waited}s for the arena" \
		"prefault (${PREFAULT_MIB} MiB of shared memory faulted in)"
}

mount_tmpfs() {
	if [[ $(id -u) -eq 0 ]]; then
		TMPFS=$TMP/tmpfs
		mkdir -p "$TMPFS"
		mount -t tmpfs -o size=5G kvfs-bench "$TMPFS"
		TMPFS_MOUNTED=1
		echo "tmpfs: mounted $TMPFS (size=5G)"
	else
		TMPFS=$(mktemp -d /dev/shm/kvfs-bench.XXXXXX)
		echo "tmpfs: not root, using $TMPFS"
	fi
}

check_space() {
	local avail
	avail=$(df -Pk "$1" | awk 'NR == 2 { print $4 }')
	((avail >= NEED_KIB)) || die "$1 has $((avail / 1024)) MiB free; the benchmark needs $((NEED_KIB / 1024))"
}

targets=()
meta=(--meta "kvfs_mem=$KVFS_MEM" --meta "kvfs_opts=$KVFS_OPTS"
	--meta "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)")
PREFAULT_S=
for t in $TARGETS; do
	case $t in
	kvfs)
		mount_kvfs
		targets+=("kvfs=$MNT")
		meta+=(--watch-pid "$KVFS_PID")
		meta+=(--meta "kvfs_prefault_wait_s=$PREFAULT_S") ;;
	tmpfs)
		mount_tmpfs
		check_space "$TMPFS"
		targets+=("tmpfs=$TMPFS") ;;
	disk)
		DISK=$(mktemp -d "$DISK_PARENT/kvfs-bench.XXXXXX")
		check_space "$DISK"
		echo "disk: $DISK ($(df -P "$DISK" | awk 'NR == 2 { print $1 }'))"
		targets+=("disk=$DISK") ;;
	*) die "BENCH_TARGETS: unknown target '$t' (use kvfs, tmpfs, disk)" ;;
	esac
done

# --quick implies one run unless BENCH_REPEAT says otherwise.
[[ ${#quick[@]} -eq 0 || -n ${BENCH_REPEAT:-} ]] && quick+=(--repeat "$REPEAT")
"$BENCH_BIN" "${quick[@]}" "${meta[@]}" "${args[@]}" \
	--json "$OUT_DIR/results.json" "${targets[@]}" | tee "$OUT_DIR/results.txt"

# The GPU fast path (libkvfs-gpu, host backend) on the same mount: see the top
# of tools/kvfs-gpu-bench.c and docs/gpu.md.
if [[ -n $KVFS_PID && -x $BUILD/kvfs-gpu-bench ]]; then
	"$BUILD/kvfs-gpu-bench" --repeat "$REPEAT" --json "$OUT_DIR/gpu.json" "$MNT" \
		"${DISK:-$DISK_PARENT}" | tee "$OUT_DIR/gpu.txt"
fi
# The ratios as a picture, build/bench/ratios.png (tools/bench-chart.sh; gnuplot).
"$(dirname "$0")/bench-chart.sh" "$OUT_DIR/results.json" "$OUT_DIR/ratios.png" || echo "bench.sh: no chart drawn (see above)" >&2
