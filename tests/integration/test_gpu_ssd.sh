#!/usr/bin/env bash
# test_gpu_ssd.sh - libkvfs-gpu over the SSD tier, on both paths (fallback,
# and mapped with KVFS_GPU_MAP=1): a file the library wrote is demoted to the
# SSD by other files filling memory, then read back right through the
# library on each path (the mapping faults its pages in through the daemon,
# which promotes the file); writes with memory full of other files make
# room as write(2) does; everything survives a restart.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_io pattern
t_require_cmd cmp getfattr

M=$T_DIR/mnt
S=$T_DIR/state
D=$T_DIR/ssd
mkdir -p "$D"
# lru: a file just read is not kept warmer than files written after it.
opts="mem=64M,ssd=$D,ssd_size=256M,evict_policy=lru"
kvfs_mount "$M" "$S" "$opts"
t_require_kvfs_mount "$M"

# 16 MiB written through the mapping, then 96 MiB of other files push it out
# of the 64 MiB of memory: the flusher stores it, reclaim demotes it.
KVFS_GPU_MAP=1 "$IT/gpu_io" write "$M/pages.kv" 31 1024 16K 16 >/dev/null
"$IT/pattern" 31 16M >"$T_DIR/ref"
for i in $(seq 1 12); do
	"$IT/pattern" $((100 + i)) 8M >"$M/fill$i.kv"
done
demoted() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(t_xattr "$1" user.kvfs.tier) == ssd ]] && return 0
		# Reading the newest files keeps them warm; the old one goes cold.
		cat "$M/fill$2.kv" "$M/fill$(($2 - 1)).kv" >/dev/null
		sleep 0.1
	done
	t_fail "$1 is still in memory ($(t_xattr "$1" user.kvfs.tier)) after 96 MiB more"
}
demoted "$M/pages.kv" 12

# Read back from the SSD through the mapping, then through pread.
KVFS_GPU_MAP=1 "$IT/gpu_io" read "$M/pages.kv" 31 16M 16K >/dev/null
t_cmp "$M/pages.kv" "$T_DIR/ref"
for i in $(seq 13 20); do
	"$IT/pattern" $((100 + i)) 8M >"$M/fill$i.kv"
done
demoted "$M/pages.kv" 20
KVFS_GPU_MAP=0 "$IT/gpu_io" read "$M/pages.kv" 31 16M 16K >/dev/null
t_log "an SSD-only file read back on both paths ($(t_elapsed))"

# Writes with memory full of other files make room.
KVFS_GPU_MAP=1 "$IT/gpu_io" write "$M/more.kv" 32 2048 16K 16 >/dev/null
"$IT/pattern" 32 32M >"$T_DIR/ref2"
t_cmp "$M/more.kv" "$T_DIR/ref2"
KVFS_GPU_MAP=0 "$IT/gpu_io" write "$M/more2.kv" 33 2048 16K 16 >/dev/null
"$IT/pattern" 33 32M >"$T_DIR/ref3"
t_cmp "$M/more2.kv" "$T_DIR/ref3"

kvfs_umount "$M"
kvfs_mount "$M" "$S" "$opts"
t_cmp "$M/pages.kv" "$T_DIR/ref"
t_cmp "$M/more.kv" "$T_DIR/ref2"
KVFS_GPU_MAP=1 "$IT/gpu_io" read "$M/more.kv" 32 32M 16K >/dev/null
KVFS_GPU_MAP=0 "$IT/gpu_io" read "$M/more2.kv" 33 32M 16K >/dev/null
kvfs_umount "$M"
t_log "over the SSD tier: demoted files read back, room made, restart ($(t_elapsed))"
