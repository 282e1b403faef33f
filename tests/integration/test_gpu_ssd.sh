#!/usr/bin/env bash
# test_gpu_ssd.sh - the GPU fast path over the SSD tier: a fast-path read
# (PIN) of a file that only the SSD holds promotes it into the arena first
# and returns the right bytes; a fast-path write (RESERVE) into a full arena
# makes room by demoting cold files, as write(2) does; both files survive a
# restart.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_io pattern
t_require_cmd cmp getfattr

M=$T_DIR/mnt
S=$T_DIR/state
D=$T_DIR/ssd
mkdir -p "$D"
opts="mem=64M,ssd=$D,ssd_size=256M"
kvfs_mount "$M" "$S" "$opts"
t_require_kvfs_mount "$M"

# 16 MiB through the fast path, then 96 MiB of other files push it out of
# the 64 MiB arena: the flusher stores it, reclaim demotes it.
"$IT/gpu_io" write "$M/pages.kv" 31 1024 16K 16 >/dev/null
"$IT/pattern" 31 16M >"$T_DIR/ref"
for i in $(seq 1 12); do
	"$IT/pattern" $((100 + i)) 8M >"$M/fill$i.kv"
done
for ((i = 0; i < 100; i++)); do
	[[ $(t_xattr "$M/pages.kv" user.kvfs.tier) == ssd ]] && break
	# Reading the newest files keeps them warm; the old one goes cold.
	cat "$M/fill12.kv" >/dev/null
	sleep 0.1
done
t_eq "$(t_xattr "$M/pages.kv" user.kvfs.tier)" ssd "tier of the fast-path file after 96 MiB more"
promotions=$(t_stat "$M" store promotions)

# PIN promotes it, and the pages come back right (gpu_io read checks them).
"$IT/gpu_io" read "$M/pages.kv" 31 16M 16K >/dev/null
t_ne "$(t_xattr "$M/pages.kv" user.kvfs.tier)" ssd "tier after a fast-path read"
after=$(t_stat "$M" store promotions)
((after > promotions)) || t_fail "a fast-path read of an SSD-only file promoted nothing ($promotions -> $after)"
t_cmp "$M/pages.kv" "$T_DIR/ref"

# A fast-path write with the arena full of other files makes room.
"$IT/gpu_io" write "$M/more.kv" 32 2048 16K 16 >/dev/null
"$IT/pattern" 32 32M >"$T_DIR/ref2"
t_cmp "$M/more.kv" "$T_DIR/ref2"

kvfs_umount "$M"
kvfs_mount "$M" "$S" "$opts"
t_cmp "$M/pages.kv" "$T_DIR/ref"
t_cmp "$M/more.kv" "$T_DIR/ref2"
"$IT/gpu_io" read "$M/more.kv" 32 32M 16K >/dev/null
t_log "fast path over the SSD tier: promote on PIN, room on RESERVE, restart ($(t_elapsed))"
