#!/usr/bin/env bash
# bench.sh - `make bench`: kvfs side by side with tmpfs, a local-disk directory
# and memcpy, and kvfs's SSD tier side by side with raw I/O on its disk, in
# one run of build/kvfs-bench (see docs/bench.md).
#
# Mounts a kvfs (mem=5G) and a tmpfs (size=5G; /dev/shm when not root) in a
# temporary directory, makes a directory on the local disk (/var/tmp); mounts
# a second kvfs with a small arena and an SSD tier (mem=1G, ssd= in the same
# temporary directory under /tmp), whose slab directory also holds the raw
# I/O target; prepares the state of a kvfs with 1,000,000 stored files for
# the restart measurement (tools/kvfs-bench-index.c); runs kvfs-bench on all
# of it, prints the table and the ratios, and keeps the results in
# $BUILD/bench/results.{json,txt}; then runs kvfs-bench-engines (issue 12's
# engine sessions, mmap, 4 KiB random reads) on the kvfs, disk and tmpfs
# targets, its table appended to results.txt, its JSON in engines.json;
# then libkvfs-gpu's benchmark; last, (m): a kvfs with 4 GiB in memory and
# on an SSD tier (512 MiB with --quick) is unmounted, keeping its memory
# tier, and kvfs-bench times its restart until a file is read whole
# (restart-mem.json).
# Whatever happens, the EXIT trap unmounts everything, stops the daemons it
# started and removes their files.
#
# usage: tools/bench.sh [--quick] [extra kvfs-bench options]
# environment:
#   BUILD=build            where kvfs and kvfs-bench are
#   BENCH_REPEAT=N         runs of each measurement, median reported (default 3)
#   BENCH_TARGETS="..."    subset of "kvfs tmpfs disk kvfs-ssd ssd restart
#                          restart-mem" (default all seven; "kvfs-ssd ssd
#                          restart restart-mem": the SSD tier)
#   BENCH_DISK_DIR=DIR     parent of the local-disk directory (default /var/tmp)
#   BENCH_SSD_DIR=DIR      parent of the SSD tier's slabs (default: the temporary
#                          directory, under /tmp)
#   BENCH_RESTART_FILES=N  files in the restarted index (default 1000000)
#   KVFS_MEM=5G            the daemon's mem= (the arena; bounds what kvfs holds)
#   KVFS_OPTS=...          more -o options for the daemon, e.g. io=cached,threads=4
#   KVFS_SSD_MEM=1G        mem= of the SSD-tier and restarted daemons ((d) writes
#                          twice this)
#   KVFS_SSD_SIZE=...      their ssd_size= (default 4 x KVFS_SSD_MEM + 2G)
#   KVFS_SSD_OPTS=...      more -o options for them, e.g. write_policy=back
#   BENCH_ENGINE_FDS=N     descriptors the engine sessions' process holds open
#                          besides its files (default 0; an engine with CUDA and
#                          sockets holds hundreds: kvfs-bench-engines --fds)
set -euo pipefail

BUILD=${BUILD:-build}
REPEAT=${BENCH_REPEAT:-3}
TARGETS=${BENCH_TARGETS:-kvfs tmpfs disk kvfs-ssd ssd restart restart-mem}
DISK_PARENT=${BENCH_DISK_DIR:-/var/tmp}
KVFS_MEM=${KVFS_MEM:-5G}
KVFS_OPTS=${KVFS_OPTS:-}
KVFS_SSD_OPTS=${KVFS_SSD_OPTS:-}
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
# --quick: a smaller arena (so a smaller spill) and index.
KVFS_SSD_MEM=${KVFS_SSD_MEM:-$([[ ${#quick[@]} -gt 0 ]] && echo 256M || echo 1G)}
RESTART_FILES=${BENCH_RESTART_FILES:-$([[ ${#quick[@]} -gt 0 ]] && echo 100000 || echo 1000000)}

[[ -x $BUILD/kvfs-bench ]] || die "$BUILD/kvfs-bench is missing: run make"
[[ $TARGETS != *kvfs* && $TARGETS != *restart* || -x $BUILD/kvfs ]] || die "$BUILD/kvfs is missing: run make"
[[ $TARGETS != *restart* || -x $BUILD/kvfs-bench-index ]] || die "$BUILD/kvfs-bench-index is missing: run make"
mkdir -p "$OUT_DIR"
BENCH_BIN=$(realpath "$BUILD/kvfs-bench")
KVFS_BIN=$(realpath "$BUILD/kvfs" 2>/dev/null || true)
INDEX_BIN=$(realpath "$BUILD/kvfs-bench-index" 2>/dev/null || true)
OUT_DIR=$(realpath "$OUT_DIR")

# kvfs-bench holds one file open at a time; the daemon may keep one fd per open
# handle and its arena, SQLite and log files.  Raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

TMP=$(mktemp -d /tmp/kvfs-bench.XXXXXX)
MNT=$TMP/kvfs
STATE=$TMP/state
TMPFS=
TMPFS_MOUNTED=0
KTIER_MOUNTED=0
KRES_MOUNTED=0
DISK=
KVFS_PID=
SSD_PARENT=             # BENCH_SSD_DIR's temporary directory, ours to remove
SSD_TOP=$TMP            # where the slab directories go
MNT2=$TMP/kvfs-ssd      # the kvfs with an SSD tier
KVFS2_PID=
RMNT=$TMP/restart       # the restarted kvfs; kvfs-bench starts and stops it
MRMNT=$TMP/restart-mem  # (m): the kvfs restarted over its kept memory tier
RESTART_MEM=0           # (m) runs
# (m): 4 GiB of 8 MiB files (512 MiB with --quick)
RESTART_MEM_FILES=$([[ ${#quick[@]} -gt 0 ]] && echo 64 || echo 512)

is_mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }

unmount() {
	is_mounted "$1" || return 0
	fusermount3 -u "$1" 2>/dev/null || umount "$1" 2>/dev/null \
		|| umount -l "$1" 2>/dev/null || echo "bench.sh: cannot unmount $1" >&2
}

# Unmounts $1 and waits for daemon $2 to exit (it does once unmounted):
# 30 s (a big namespace takes a while to free), then stops it.
stop_daemon() {
	local i
	unmount "$1"
	[[ -n $2 ]] || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$2" 2>/dev/null; then
		kill -TERM "$2" 2>/dev/null; sleep 2
		kill -KILL "$2" 2>/dev/null || true
	fi
	wait "$2" 2>/dev/null || true
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	[[ -n $KVFS_PID ]] && stop_daemon "$MNT" "$KVFS_PID"
	[[ -n $KVFS2_PID ]] && stop_daemon "$MNT2" "$KVFS2_PID"
	# kvfs-bench stops the restarted daemon; if it was killed, that
	# daemon exits once unmounted.
	unmount "$RMNT"
	unmount "$MRMNT"
	# The memory tiers the daemons kept for a restart (STATE/mem).
	for i in $(awk -v t="$TMP/" '$3 == "tmpfs" && index($2, t) == 1 && $2 ~ /\/mem$/ { print $2 }' /proc/mounts); do
		umount "$i" 2>/dev/null || umount -l "$i" 2>/dev/null || true
	done
	((KTIER_MOUNTED)) && { umount "$TMP/ktier" 2>/dev/null || umount -l "$TMP/ktier" || true; }
	((KRES_MOUNTED)) && { umount "$TMP/kreserve" 2>/dev/null || umount -l "$TMP/kreserve" || true; }
	if ((TMPFS_MOUNTED)); then
		umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS" 2>/dev/null || true
	elif [[ -n $TMPFS ]]; then
		rm -rf "$TMPFS"
	fi
	[[ -n $DISK ]] && rm -rf "$DISK"
	[[ -n $SSD_PARENT ]] && rm -rf --one-file-system "$SSD_PARENT"
	if ! awk -v t="$TMP/" 'index($2, t) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
		for i in kvfs kvfs-ssd restart restart-mem; do
			[[ $rc -ne 0 && -s $TMP/$i.log ]] && cp "$TMP/$i.log" "$OUT_DIR/$i.log" \
				&& echo "bench.sh: daemon log kept in $OUT_DIR/$i.log" >&2
		done
		rm -rf --one-file-system "$TMP"
	else
		echo "bench.sh: something is still mounted under $TMP; left it there" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

size_kib() {
	local n=${1%[KkMmGgTt]} s=${1: -1}
	case $s in
	K|k) echo "$n" ;; M|m) echo $((n * 1024)) ;; G|g) echo $((n * 1024 * 1024)) ;;
	T|t) echo $((n * 1024 * 1024 * 1024)) ;; *) echo $((n / 1024)) ;;
	esac
}

# Waits for the daemon's warming of fresh memory (prefault=1: stats.json's
# memory_warmed_bytes reaches mem=), at most 120 s.  Prints the seconds
# waited and the MiB warmed.
wait_prefault() {
	local want=$(($(size_kib "$KVFS_MEM") * 1024)) start=$SECONDS done=0
	while ((SECONDS - start < 120)); do
		done=$(kvfs_stat "$MNT" memory_warmed_bytes)
		[[ -z $done || $done -ge $want ]] && break
		sleep 0.2
	done
	echo "$((SECONDS - start)) $((${done:-0} >> 20))"
}

mount_kvfs() {
	local opts="state=$STATE,mem=$KVFS_MEM${KVFS_OPTS:+,$KVFS_OPTS}" base i waited
	mkdir -p "$MNT" "$STATE"
	"$KVFS_BIN" "$MNT" -f -o "$opts" >"$TMP/kvfs.log" 2>&1 &
	KVFS_PID=$!
	for ((i = 0; i < 300; i++)); do
		awk -v m="$MNT" '$2 == m && $3 ~ /^fuse/ { found = 1 } END { exit !found }' \
			/proc/mounts && break
		kill -0 "$KVFS_PID" 2>/dev/null || { cat "$TMP/kvfs.log" >&2; die "kvfs exited at start"; }
		sleep 0.1
	done
	is_mounted "$MNT" || { cat "$TMP/kvfs.log" >&2; die "kvfs did not mount $MNT in 30 s"; }
	read -r waited PREFAULT_MIB < <(wait_prefault)
	PREFAULT_S=$waited
	echo "kvfs: mounted $MNT -o $opts (pid $KVFS_PID); waited ${waited}s for the" \
		"memory warming (${PREFAULT_MIB} MiB warmed)"
	# Round trips cost half or less with the kernel's wake_here on
	# (docs/design.md): every figure of a run depends on it.
	WAKE_HERE=$(sed -n 's/^# kernel: fuse wake_here //p' "$MNT/.kvfs/config")
	echo "kvfs: the kernel's fuse wake_here: ${WAKE_HERE:-unknown}"
}

# Starts kvfs on $1 with options $2, logging to $3; sets DAEMON_PID.  Waits
# for the mount (30 s).
start_kvfs() {
	local i
	mkdir -p "$1"
	"$KVFS_BIN" "$1" -f -o "$2" >"$3" 2>&1 &
	DAEMON_PID=$!
	for ((i = 0; i < 300; i++)); do
		awk -v m="$1" '$2 == m && $3 ~ /^fuse/ { found = 1 } END { exit !found }' \
			/proc/mounts && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$3" >&2; die "kvfs exited at start"; }
		sleep 0.1
	done
	cat "$3" >&2
	die "kvfs did not mount $1 in 30 s"
}

# A number from the "tiers"/"store" part of a kvfs mount's stats.json.
kvfs_stat() {
	sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1/.kvfs/stats.json" | head -1
}

# The kvfs with an SSD tier: a small arena over slabs in $SSD_TOP/slabs, which
# also holds the raw target's directory.  Waits for its arena prefault
# (stats.json says how far it got).
mount_kvfs_ssd() {
	local opts="state=$TMP/state-ssd,mem=$KVFS_SSD_MEM,ssd=$SSD_TOP/slabs,ssd_size=$KVFS_SSD_SIZE"
	local start=$SECONDS cap done
	opts+=${KVFS_SSD_OPTS:+,$KVFS_SSD_OPTS}
	mkdir -p "$SSD_TOP/slabs"
	start_kvfs "$MNT2" "$opts" "$TMP/kvfs-ssd.log"
	KVFS2_PID=$DAEMON_PID
	cap=$(kvfs_stat "$MNT2" capacity_bytes)
	while ((SECONDS - start < 120)); do
		done=$(kvfs_stat "$MNT2" memory_warmed_bytes)
		[[ -z $done || $done -ge $cap ]] && break
		sleep 0.2
	done
	echo "kvfs-ssd: mounted $MNT2 -o $opts (pid $KVFS2_PID); waited $((SECONDS - start))s" \
		"for the memory warming"
}

# (g): the state of a kvfs whose index holds $RESTART_FILES stored files of
# 4 KiB: kvfs makes the store and the schema (started once, unmounted), then
# kvfs-bench-index adds the rows.  Sets RESTART_PROBE, a file name to stat.
prepare_restart() {
	local size_mib=$(((RESTART_FILES * 4096 / 1048576 + 64) / 64 * 64)) start=$SECONDS
	local opts="state=$TMP/state-restart,mem=64M,prefault=0,ssd=$SSD_TOP/restart-slabs"
	mkdir -p "$SSD_TOP/restart-slabs" "$RMNT"
	start_kvfs "$RMNT" "$opts,ssd_size=${size_mib}M" "$TMP/restart.log"
	stop_daemon "$RMNT" "$DAEMON_PID"
	RESTART_PROBE=$("$INDEX_BIN" --state "$TMP/state-restart" --ssd "$SSD_TOP/restart-slabs" \
		--files "$RESTART_FILES") || die "kvfs-bench-index failed"
	RESTART_EXEC="$KVFS_BIN $RMNT -f -o state=$TMP/state-restart,mem=$KVFS_SSD_MEM"
	RESTART_EXEC+=",ssd=$SSD_TOP/restart-slabs${KVFS_SSD_OPTS:+,$KVFS_SSD_OPTS}"
	echo "restart: an index of $RESTART_FILES files (${size_mib} MiB of slabs) made in" \
		"$((SECONDS - start))s; kvfs-bench times: $RESTART_EXEC"
}

# (m): a kvfs (mem=5G, prefault=0, an SSD tier) given 4 GiB of 8 MiB files,
# then unmounted: its memory tier (STATE/mem) stays mounted for the restart
# kvfs-bench times, as after a daemon upgrade.  Sets MEM_RESTART_EXEC.
prepare_restart_mem() {
	local opts="state=$TMP/state-restart-mem,mem=5G,prefault=0"
	local i start=$SECONDS
	opts+=",ssd=$SSD_TOP/restart-mem-slabs,ssd_size=$((RESTART_MEM_FILES * 8 + 512))M"
	mkdir -p "$SSD_TOP/restart-mem-slabs"
	start_kvfs "$MRMNT" "$opts" "$TMP/restart-mem.log"
	head -c 8M /dev/urandom >"$TMP/restart-mem.src"
	for ((i = 1; i <= RESTART_MEM_FILES; i++)); do
		cp "$TMP/restart-mem.src" "$MRMNT/f$i.kv"
	done
	rm -f "$TMP/restart-mem.src"
	stop_daemon "$MRMNT" "$DAEMON_PID"
	is_mounted "$TMP/state-restart-mem/mem" ||
		die "(m): the memory tier was not kept at unmount (see $TMP/restart-mem.log)"
	MEM_RESTART_EXEC="$KVFS_BIN $MRMNT -f -o $opts"
	echo "restart-mem: $RESTART_MEM_FILES files of 8 MiB written and kept in memory in" \
		"$((SECONDS - start))s; kvfs-bench times: $MEM_RESTART_EXEC"
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

# (a)'s like-for-like base: the kernel's own tmpfs, as kvfs's memory tier
# mounts it, and a reserve as kvfs's (kvfs-bench --kernel-tier).  Root only.
mount_kernel_base() {
	[[ $(id -u) -eq 0 ]] || return 0
	mkdir -p "$TMP/ktier" "$TMP/kreserve"
	mount -t tmpfs -o size=4G,huge=within_size kvfs-bench "$TMP/ktier" || return 0
	KTIER_MOUNTED=1
	mount -t tmpfs -o size=4G,huge=always kvfs-bench "$TMP/kreserve" || return 0
	KRES_MOUNTED=1
	meta+=(--kernel-tier "$TMP/ktier" --kernel-reserve "$TMP/kreserve")
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
if [[ " $TARGETS " =~ \ (kvfs-ssd|ssd|restart|restart-mem)\  ]]; then
	if [[ -n ${BENCH_SSD_DIR:-} ]]; then
		SSD_PARENT=$(mktemp -d "$BENCH_SSD_DIR/kvfs-bench-ssd.XXXXXX")
		SSD_TOP=$SSD_PARENT
	fi
	mem_kib=$(size_kib "$KVFS_SSD_MEM")
	KVFS_SSD_SIZE=${KVFS_SSD_SIZE:-$((4 * mem_kib / 1024 + 2048))M}
	# Slabs, (d)'s raw file, (f)'s plain files and the restarted store.
	need=$(($(size_kib "$KVFS_SSD_SIZE") + 3 * mem_kib + 1024 * 1024 + RESTART_FILES * 4 + 65536))
	[[ " $TARGETS " == *" restart-mem "* ]] && need=$((need + (RESTART_MEM_FILES * 8 + 512) * 1024))
	avail=$(df -Pk "$SSD_TOP" | awk 'NR == 2 { print $4 }')
	((avail >= need)) || die "$SSD_TOP has $((avail / 1024)) MiB free; the SSD tier benchmarks need $((need / 1024)) (set BENCH_SSD_DIR or KVFS_SSD_MEM)"
	meta+=(--meta "kvfs_ssd_mem=$KVFS_SSD_MEM" --meta "kvfs_ssd_size=$KVFS_SSD_SIZE"
		--meta "kvfs_ssd_opts=$KVFS_SSD_OPTS"
		--meta "ssd_dir_fs=$(df -PT "$SSD_TOP" | awk 'NR == 2 { print $1 " " $2 }')")
fi
for t in $TARGETS; do
	case $t in
	kvfs)
		mount_kvfs
		targets+=("kvfs=$MNT")
		meta+=(--watch-pid "$KVFS_PID")
		meta+=(--meta "kvfs_prefault_wait_s=$PREFAULT_S" --meta "fuse_wake_here=$WAKE_HERE")
		mount_kernel_base ;;
	tmpfs)
		mount_tmpfs
		check_space "$TMPFS"
		targets+=("tmpfs=$TMPFS") ;;
	disk)
		DISK=$(mktemp -d "$DISK_PARENT/kvfs-bench.XXXXXX")
		check_space "$DISK"
		echo "disk: $DISK ($(df -P "$DISK" | awk 'NR == 2 { print $1 }'))"
		targets+=("disk=$DISK") ;;
	kvfs-ssd)
		mount_kvfs_ssd
		targets+=("kvfs-ssd=$MNT2")
		meta+=(--watch-pid "$KVFS2_PID") ;;
	ssd)
		mkdir -p "$SSD_TOP/slabs"
		echo "ssd: raw I/O in $SSD_TOP/slabs ($(df -PT "$SSD_TOP" | awk 'NR == 2 { print $1 ", " $2 }'))"
		targets+=("ssd=$SSD_TOP/slabs") ;;
	restart)
		prepare_restart
		meta+=(--restart-exec "$RESTART_EXEC" --restart-mnt "$RMNT"
			--restart-probe "$RESTART_PROBE" --restart-files "$RESTART_FILES"
			--restart-log "$TMP/restart.log") ;;
	restart-mem)
		RESTART_MEM=1 ;; # last, below: it needs 4 GiB of memory of its own
	*) die "BENCH_TARGETS: unknown target '$t' (use kvfs, tmpfs, disk, kvfs-ssd, ssd, restart, restart-mem)" ;;
	esac
done

# --quick implies one run unless BENCH_REPEAT says otherwise.
[[ ${#quick[@]} -eq 0 || -n ${BENCH_REPEAT:-} ]] && quick+=(--repeat "$REPEAT")
if [[ ${#targets[@]} -gt 0 || " $TARGETS " == *" restart "* ]]; then
	"$BENCH_BIN" "${quick[@]}" "${meta[@]}" "${args[@]}" \
		--json "$OUT_DIR/results.json" "${targets[@]}" | tee "$OUT_DIR/results.txt"
else
	: >"$OUT_DIR/results.txt"
fi

# Issue 12's yardstick on the same mounts: the five engines' call sequences
# (kvfs against the disk directory), mmap against memcpy, 4 KiB random reads
# against tmpfs (tools/kvfs-bench-engines.c, docs/bench.md "(j)-(l)").  Its
# table goes into results.txt after kvfs-bench's, its figures into
# engines.json.
ENGINES_BIN=$BUILD/kvfs-bench-engines
if [[ -n $KVFS_PID && -x $ENGINES_BIN ]]; then
	eng_targets=("kvfs=$MNT")
	[[ -n $DISK ]] && eng_targets+=("disk=$DISK")
	[[ -n $TMPFS ]] && eng_targets+=("tmpfs=$TMPFS")
	eng_opts=(--repeat "$REPEAT")
	[[ ${quick[0]:-} == --quick && -z ${BENCH_REPEAT:-} ]] && eng_opts=(--quick)
	eng_opts+=(--fds "${BENCH_ENGINE_FDS:-0}")
	echo
	"$ENGINES_BIN" "${eng_opts[@]}" --watch-pid "$KVFS_PID" --json "$OUT_DIR/engines.json" \
		"${eng_targets[@]}" | tee -a "$OUT_DIR/results.txt"
fi

# libkvfs-gpu (host backend) on the same mount: see the top
# of tools/kvfs-gpu-bench.c and docs/gpu.md.  A round takes about a second
# and one round's first write swings by 20% on this VM: at least 7 rounds.
if [[ -n $KVFS_PID && -x $BUILD/kvfs-gpu-bench ]]; then
	"$BUILD/kvfs-gpu-bench" --repeat "$(( REPEAT > 7 ? REPEAT : 7 ))" --json "$OUT_DIR/gpu.json" "$MNT" \
		"${DISK:-$DISK_PARENT}" | tee "$OUT_DIR/gpu.txt"
	# With a CUDA device: device<->arena against cuMemcpy to pinned memory
	# (tests/integration/gpu_cuda.c; its checks run too).
	cuda=$BUILD/tests/it/gpu_cuda
	if [[ -x $cuda ]] && "$cuda" probe >/dev/null 2>&1; then
		echo "libkvfs-gpu (CUDA backend): 64 scattered 1 MiB device pages, medians of 7 runs"
		"$cuda" "$MNT" "${DISK:-$DISK_PARENT}/kvfs-bench-cuda.$$" | tee -a "$OUT_DIR/gpu.txt"
		rm -f "${DISK:-$DISK_PARENT}/kvfs-bench-cuda.$$"
	else
		echo "libkvfs-gpu (CUDA backend): no CUDA device here; not measured" | tee -a "$OUT_DIR/gpu.txt"
	fi
fi
# (m): the restart of a kvfs that kept its memory tier (issue 12): the first
# whole read within 2 s, and no SSD reads.
if ((RESTART_MEM)); then
	prepare_restart_mem
	echo
	"$BENCH_BIN" "${quick[@]}" --restart-exec "$MEM_RESTART_EXEC" --restart-mnt "$MRMNT" \
		--restart-probe f1.kv --restart-files "$RESTART_MEM_FILES" --restart-read \
		--restart-log "$TMP/restart-mem.log" --json "$OUT_DIR/restart-mem.json" |
		tee -a "$OUT_DIR/results.txt"
fi
# The ratios as a picture, build/bench/ratios.png (tools/bench-chart.sh; gnuplot).
"$(dirname "$0")/bench-chart.sh" "$OUT_DIR/results.json" "$OUT_DIR/ratios.png" || echo "bench.sh: no chart drawn (see above)" >&2
if [[ -s $OUT_DIR/engines.json ]]; then
	"$(dirname "$0")/bench-chart.sh" "$OUT_DIR/engines.json" "$OUT_DIR/engines.png" ||
		echo "bench.sh: no engines chart drawn (see above)" >&2
fi
