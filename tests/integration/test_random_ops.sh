#!/usr/bin/env bash
# test_random_ops.sh - a seeded random sequence of file operations (randops.c)
# applied in lockstep to a kvfs directory and a tmpfs directory; every return
# value, errno and byte read, and the final trees, must be identical.
# 100,000 operations with the default io=auto, then 50,000 each with
# io=cached (the page cache, where stale pages would show) and io=direct;
# 1,000,000 / 200,000 / 200,000 with KVFS_SOAK=1.  The seed is random unless
# KVFS_SEED is set, and printed so a failure reproduces.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper randops

nops=100000 nmode=50000
if [[ -n ${KVFS_SOAK:-} ]]; then
	nops=1000000 nmode=200000
fi
nops=${KVFS_RANDOPS:-$nops}
seed=${KVFS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
t_log "seed $seed (reproduce: KVFS_SEED=$seed tests/run.sh random_ops)"

t_mount_tmpfs "$T_DIR/ref" 1G
REF=$T_TMPFS
M=$T_DIR/mnt
failed=()
run() {
	local io=$1 n=$2 s=$3
	kvfs_mount "$M" "$T_DIR/state-$io" "mem=512M,io=$io"
	t_require_kvfs_mount "$M"
	mkdir "$M/r" "$REF/$io"
	t_log "io=$io: $n operations, seed $s"
	"$IT/randops" "$s" "$n" "$M/r" "$REF/$io" ||
		failed+=("io=$io: difference with seed $s (reproduce: KVFS_SEED=$seed)")
	kvfs_alive "$M"
	kvfs_umount "$M"
}
run auto "$nops" "$seed"
run cached "$nmode" $((seed + 1))
run direct "$nmode" $((seed + 2))
((${#failed[@]} == 0)) || t_fail "randops: ${failed[*]}"
