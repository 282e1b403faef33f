#!/usr/bin/env bash
# test_negative_entries.sh - negative entries stay exact (issue 11, item 1;
# DESIGN.md 3.1, 5): process A (the negwait helper) probes a name with stat,
# access(F_OK) and open until the miss is cached by the kernel (repeated
# misses reach the daemon once: its "missed" count), then another process
# makes the name appear and returns, the script tells A, and A must find it
# with ONE stat, access and open, at once (no sleep, no retry), with the new
# size (and the new inode where an old file had the name).  Every way a name
# appears:
#   - publish at the writer's last close (A also misses while it is written);
#   - rename onto the name, of a published file and of one still being
#     written (published at its close after the rename);
#   - create by another process (open O_CREAT|O_TRUNC, and O_EXCL);
#   - a file written by libkvfs-gpu (host backend, through its mapping of
#     the file, KVFS_GPU_MAP=1: create, fallocate, copies, msync, close);
#   - an eviction undone by a new write: A sees the evicted name vanish, then
#     the new file, never the old one.
# A restart starts with an empty kernel cache and needs no test here.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper negwait gpu_io
t_require_cmd python3 setfattr

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state"
t_require_kvfs_mount "$M"

# Starts A on PATH (before anything of ours is open in the mount: A must not
# inherit a writer's descriptor).
a_start() {
	coproc NEGWAIT { exec "$IT/negwait" "$1"; }
}

# a_say CMD EXPECTED: sends CMD to A and checks its answer starts with EXPECTED.
a_say() {
	local reply
	echo "$1" >&"${NEGWAIT[1]}"
	read -r reply <&"${NEGWAIT[0]}" || t_fail "negwait died after '$1'"
	[[ $reply == "$2"* ]] || t_fail "after '$1': $reply (expected $2)"
	A_REPLY=$reply
}

a_stop() {
	local pid=$NEGWAIT_PID
	echo quit >&"${NEGWAIT[1]}"
	wait "$pid" || t_fail "negwait exited with status $?"
}

missed() { t_stat "$M" lookups missed; }

# A misses PATH 20 times; the kernel answers all but the first.
a_miss_cached() {
	local m0 m1
	m0=$(missed)
	a_say "miss 20" missed
	m1=$(missed)
	((m1 - m0 <= 1)) ||
		t_fail "60 probes of a missing name reached the daemon $((m1 - m0)) times (want 1: the kernel caches the miss)"
}

# 1. Published at the writer's last close.
a_start "$M/closed.kv"
a_miss_cached
exec 7>"$M/closed.kv"
printf '%4096s' x >&7
a_say "miss 5" missed	# being written: hidden from A
exec 7>&-
a_say "hit 4096" hit
a_stop
t_log "publish at close: seen at once"

# 2. Renamed onto the name: a published temp file (mv is another process)...
a_start "$M/renamed.kv"
a_miss_cached
head -c 5000 /dev/zero >"$M/renamed.kv.tmp"
a_say "miss 3" missed
mv "$M/renamed.kv.tmp" "$M/renamed.kv"
a_say "hit 5000" hit
a_stop
# ... and a temp file renamed by its writer before its close publishes it.
a_start "$M/early.kv"
a_miss_cached
python3 - "$M/early.kv" <<'EOF'
import os, sys
fin = sys.argv[1]
tmp = fin + ".tmp.%d" % os.getpid()
fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
os.write(fd, b"k" * 6000)
os.rename(tmp, fin)
os.close(fd)
EOF
a_say "hit 6000" hit
a_stop
t_log "rename onto the name: seen at once"

# 3. Created by another process: O_CREAT|O_TRUNC (dd), then O_EXCL.
a_start "$M/created.kv"
a_miss_cached
dd if=/dev/zero of="$M/created.kv" bs=1000 count=3 status=none
a_say "hit 3000" hit
a_stop
a_start "$M/excl.kv"
a_miss_cached
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, b"e" * 7000)
os.close(fd)' "$M/excl.kv"
a_say "hit 7000" hit
a_stop
t_log "create by another process: seen at once"

# 4. A file libkvfs-gpu wrote through its mapping: 64 pages of 16 KiB.
a_start "$M/gpu.kv"
a_miss_cached
KVFS_GPU_MAP=1 "$IT/gpu_io" write "$M/gpu.kv" 31 64 16K >/dev/null
a_say "hit $((64 * 16384))" hit
a_stop
t_log "libkvfs-gpu's file: seen at once"

# 5. An eviction undone by a new write: A holds the old file in its caches,
# sees it vanish when the eviction returns, then sees the new one.
head -c 8192 /dev/zero >"$M/evicted.kv"
a_start "$M/evicted.kv"
a_say "hit 8192" hit
old_ino=${A_REPLY#hit }
setfattr -n user.kvfs.evict -v 1 "$M/evicted.kv"
a_miss_cached
head -c 12288 /dev/zero >"$M/evicted.kv"
a_say "hit 12288 $old_ino" hit
a_stop
t_log "eviction undone by a new write: seen at once"

kvfs_alive "$M"
kvfs_umount "$M"
