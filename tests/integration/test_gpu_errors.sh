#!/usr/bin/env bash
# test_gpu_errors.sh - every fast-path ioctl with malformed input gets its
# errno on a real mount (sizes, offsets near 2^63, versions, flags, lease ids,
# read-only and write-only descriptors, a directory, a file outside kvfs), and
# the daemon keeps serving.  gpu_ioctl.c lists the cases.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_ioctl

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state"
t_require_kvfs_mount "$M"
out=$("$IT/gpu_ioctl" "$M" "$T_DIR/outside.kv" 2>&1) || {
	echo "$out"
	t_fail "gpu_ioctl: $(grep -c '^FAIL' <<<"$out") case(s) failed"
}
t_log "$(grep -c '^ok:' <<<"$out") ioctl checks passed"
kvfs_alive "$M"
echo alive >"$M/after"
t_eq "$(cat "$M/after")" alive "a write after the malformed ioctls"
kvfs_umount "$M"
