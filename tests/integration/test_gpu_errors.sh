#!/usr/bin/env bash
# test_gpu_errors.sh - the INFO ioctl on a real mount: its reply on files
# (size as it changes, every access mode) and directories, and every
# malformed request with its errno (a version-1 request, flags, reserved
# fields, sizes, directions, version 1's other commands, control files, a
# file outside kvfs); the daemon keeps serving.  gpu_ioctl.c lists the cases.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_ioctl

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state"
t_require_kvfs_mount "$M"
mode=served
[[ $(t_stat "$M" io passthrough) == True ]] && mode=passthrough
out=$("$IT/gpu_ioctl" "$M" "$T_DIR/outside.kv" "$mode" 2>&1) || {
	echo "$out"
	t_fail "gpu_ioctl: $(grep -c '^FAIL' <<<"$out") case(s) failed"
}
t_log "$(grep -c '^ok:' <<<"$out") ioctl checks passed"
kvfs_alive "$M"
echo alive >"$M/after"
t_eq "$(cat "$M/after")" alive "a write after the malformed ioctls"
kvfs_umount "$M"
