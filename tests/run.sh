#!/usr/bin/env bash
# run.sh - run kvfs's unit and integration tests and summarize.
#
#   BUILD=build tests/run.sh [all|unit|integration] [NAME...]
#
# Unit tests are the binaries $BUILD/tests/unit/test_*; integration tests are
# the scripts tests/integration/test_*.sh; they are named unit/test_x and
# integration/test_y, and, where kvfs runs with FUSE passthrough by default
# (root, kernel 6.9+), each again as integration-served/test_y with
# KVFS_TEST_PASSTHROUGH=0 (lib.sh mounts with passthrough=0).  Each runs under a timeout with its output in
# $BUILD/tests/logs/NAME.log.  Exit status 0 is a pass, 77 a skip
# (the test says why on a line "SKIP: reason"), anything else a failure, whose
# log tail is printed.  NAME arguments restrict the run to tests whose name
# contains one of them.  After each test, and at the end, a fuse.kvfs mount
# left under this run's temp dir (/tmp/kvfs-run.*, where lib.sh mounts) is a
# failure, and is unmounted.  The last line is always
# "N passed, N failed, N skipped"; the exit status is 1 if anything failed.
#
# Environment: BUILD (default build), KVFS_TEST_TIMEOUT (seconds per test;
# default 300, 3600 with KVFS_SOAK=1), KVFS_SOAK=1 for the long runs.

set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
export BUILD

MODE=${1:-all}
case $MODE in
all | unit | integration) shift || true ;;
-h | --help)
	sed -n '2,/^$/p' "$0" | sed -n 's/^# \{0,1\}//p'
	exit 0
	;;
*) MODE=all ;;
esac
FILTERS=("$@")

if [[ -n ${KVFS_SOAK:-} ]]; then
	TIMEOUT=${KVFS_TEST_TIMEOUT:-3600}
else
	TIMEOUT=${KVFS_TEST_TIMEOUT:-300}
fi
LOGDIR=$BUILD/tests/logs
mkdir -p "$LOGDIR"

npass=0 nfail=0 nskip=0
failed=()

# Every test of this run makes its temp dir under RUN_DIR (lib.sh reads
# KVFS_TEST_TMP), so the leftover check below sees this run's mounts only:
# never a benchmark's, a real cache's, or those of another run going on at
# the same time.
RUN_DIR=$(mktemp -d /tmp/kvfs-run.XXXXXX) || exit 1
export KVFS_TEST_TMP=$RUN_DIR
kvfs_mounts() {
	awk -v d="$RUN_DIR/" '$3 == "fuse.kvfs" && index($2, d) == 1 { print $2 }' /proc/mounts | sort
}
mounts_before=$(kvfs_mounts)

# unmount_leftovers: print the kvfs mounts under RUN_DIR, one per line, and
# remove them.  A mount
# whose daemon hangs holds its clients in uninterruptible sleep, so when a
# plain unmount fails the FUSE connection is aborted first (root, fusectl) and
# the mount detached lazily.
unmount_leftovers() {
	local m id
	while read -r m; do
		[[ -n $m ]] || continue
		echo "$m"
		id=$(awk -v m="$m" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo)
		if ! timeout 10 fusermount3 -u "$m" 2>/dev/null; then
			if [[ -n $id && $(id -u) == 0 ]]; then
				[[ -e /sys/fs/fuse/connections/$id ]] ||
					mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null
				echo 1 >"/sys/fs/fuse/connections/$id/abort" 2>/dev/null
			fi
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done < <(comm -13 <(echo "$mounts_before") <(kvfs_mounts))
}

now() { echo "${EPOCHREALTIME/,/.}"; }

selected() {
	local f
	((${#FILTERS[@]} == 0)) && return 0
	for f in "${FILTERS[@]}"; do
		[[ $1 == *"$f"* ]] && return 0
	done
	return 1
}

# run_one NAME CMD...: run a test, print its line, count it.
run_one() {
	local name=$1 log=$LOGDIR/$1.log t0 t1 rc reason
	mkdir -p "${log%/*}"
	shift
	t0=$(now)
	timeout -k 15 "$TIMEOUT" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	t1=$(now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	# A test that leaves its kvfs mounted broke its own cleanup: it fails.
	leftover=$(unmount_leftovers)
	if [[ -n $leftover ]]; then
		printf 'leftover kvfs mount (unmounted by run.sh): %s\n' $leftover >>"$log"
		((rc == 0 || rc == 77)) && rc=1
	fi
	case $rc in
	0)
		echo "PASS $name (${secs}s)"
		npass=$((npass + 1))
		;;
	77)
		reason=$(sed -n 's/^SKIP: //p' "$log" | tail -n 1)
		echo "SKIP $name: ${reason:-exit status 77}"
		nskip=$((nskip + 1))
		;;
	*)
		if ((rc == 124 || rc == 137)); then
			echo "FAIL $name (timed out after ${TIMEOUT}s)"
		else
			echo "FAIL $name (exit status $rc, ${secs}s)"
		fi
		echo "  --- last 40 lines of $log ---"
		tail -n 40 "$log" | sed 's/^/  | /'
		nfail=$((nfail + 1))
		failed+=("$name")
		;;
	esac
}

if [[ $MODE == all || $MODE == unit ]]; then
	for bin in "$BUILD"/tests/unit/test_*; do
		[[ -f $bin && -x $bin ]] || continue
		name=unit/$(basename "$bin")
		selected "$name" || continue
		run_one "$name" "$bin"
	done
fi

# Whether kvfs here runs in the passthrough mode by default (file.c): root
# (CAP_SYS_ADMIN) on a kernel with FUSE passthrough (6.9+).
passthrough_here() {
	local v
	[[ $(id -u) == 0 ]] || return 1
	v=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
	((v >= 6009))
}

if [[ $MODE == all || $MODE == integration ]]; then
	for script in tests/integration/test_*.sh; do
		[[ -f $script ]] || continue
		name=integration/$(basename "$script" .sh)
		selected "$name" || continue
		run_one "$name" bash "$script"
	done
	# Every test again in the daemon-served mode (passthrough=0), where
	# the first round ran with passthrough; tests of no mount's I/O are
	# not repeated.
	if passthrough_here && [[ -z ${KVFS_TEST_PASSTHROUGH:-} ]]; then
		for script in tests/integration/test_*.sh; do
			[[ -f $script ]] || continue
			case $(basename "$script" .sh) in
			test_build_split | test_tier_owner | test_man | test_bench_chart | test_options) continue ;;
			esac
			name=integration-served/$(basename "$script" .sh)
			selected "$name" || continue
			KVFS_TEST_PASSTHROUGH=0 run_one "$name" bash "$script"
		done
	fi
fi

# Memory tiers kvfs kept for a restart (STATE/mem, tmpfs) under this run's
# directory, should a test not have released them.
for m in $(awk -v d="$RUN_DIR/" '$3 == "tmpfs" && index($2, d) == 1 && $2 ~ /\/mem$/ { print $2 }' /proc/mounts); do
	umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done

# Each test's leftover mounts failed it (run_one); a last look catches any
# that appeared since.
for m in $(unmount_leftovers); do
	echo "FAIL leftover kvfs mount: $m (unmounted)"
	nfail=$((nfail + 1))
	failed+=("leftover-mount")
done

# KVFS_KEEP=1 keeps the tests' temp dirs (lib.sh), so keep their parent too.
if [[ -n ${KVFS_KEEP:-} ]]; then
	echo "kept $RUN_DIR"
else
	rm -rf --one-file-system "$RUN_DIR" 2>/dev/null
fi

if ((nfail > 0)); then
	echo "failed: ${failed[*]}"
fi
echo "$npass passed, $nfail failed, $nskip skipped"
((nfail == 0))
