#!/usr/bin/env bash
# test_gpu_kill.sh - kills around mapped transfers (KVFS_GPU_MAP=1 maps these
# daemon-served opens, as passthrough opens will be).  A client killed
# (SIGKILL) while it writes through its mapping leaves the daemon serving, the
# file at the size its writes covered and readable, the same after a
# restart, and no memory held: deleting the file gives every byte back.  A
# daemon killed under a writing client: the client ends, the next daemon on
# the same state directory mounts, and no daemon made a shared arena file.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_io pattern
t_require_cmd cmp

M=$T_DIR/mnt
S=$T_DIR/state
mkdir -p "$T_DIR/ssd"
opts="ssd=$T_DIR/ssd,ssd_size=256M"	# so files outlive a restart
kvfs_mount "$M" "$S" "$opts"
t_require_kvfs_mount "$M"
total=$(t_statfs "$M" total)
shm_arenas() { ls /dev/shm | grep -c '^kvfs-.*\.arena$' || true; }
shm_before=$(shm_arenas)

# scribble FILE LEN: start a writing client and return once it has written.
scribble() {
	local out=$T_DIR/scribble.out i
	: >"$out"
	KVFS_GPU_MAP=1 "$IT/gpu_io" scribble "$1" "$2" >>"$out" 2>&1 &
	SCRIBBLER=$!
	for ((i = 0; i < 300; i++)); do
		grep -qs '^writing' "$out" && return 0
		kill -0 "$SCRIBBLER" 2>/dev/null || t_fail "gpu_io scribble died: $(cat "$out")"
		sleep 0.1
	done
	t_fail "gpu_io scribble did not write within 30 s: $(cat "$out")"
}

# A client killed mid-write.
scribble "$M/k.kv" $((8 << 20))
sleep 0.3	# a few more rounds
kill -KILL "$SCRIBBLER"
wait "$SCRIBBLER" 2>/dev/null || true
kvfs_alive "$M"
t_eq "$(t_size "$M/k.kv")" $((8 << 20)) "size of the killed client's file"
cp "$M/k.kv" "$T_DIR/k.before" || t_fail "the killed client's file does not read back"
kvfs_umount "$M"
kvfs_mount "$M" "$S" "$opts"
t_cmp "$M/k.kv" "$T_DIR/k.before"
"$IT/pattern" 51 3M >"$T_DIR/ref"
KVFS_GPU_MAP=1 "$IT/gpu_io" write "$M/after.kv" 51 192 16K >/dev/null
t_cmp "$M/after.kv" "$T_DIR/ref"
rm -f "$M/k.kv" "$M/after.kv"
for ((i = 0; i < 100; i++)); do	# the SSD tier frees in the background
	(($(t_statfs "$M" free) == total)) && break
	sleep 0.1
done
t_eq "$(t_statfs "$M" free)" "$total" "free space 10 s after the killed client's file is deleted"
t_log "a killed client: file intact, memory given back ($(t_elapsed))"

# A daemon killed under a writing client.
scribble "$M/d.kv" $((4 << 20))
pid=${T_PID[$M]}
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
unset 'T_PID[$M]'
for ((i = 0; i < 100; i++)); do
	kill -0 "$SCRIBBLER" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$SCRIBBLER" 2>/dev/null; then
	kill -KILL "$SCRIBBLER"
	t_fail "the client kept running 10 s after its daemon was killed"
fi
wait "$SCRIBBLER" 2>/dev/null || true
fusermount3 -u "$M" 2>/dev/null || fusermount3 -u -z "$M"
kvfs_mount "$M" "$S" "$opts"
KVFS_GPU_MAP=1 "$IT/gpu_io" write "$M/again.kv" 51 192 16K >/dev/null
t_cmp "$M/again.kv" "$T_DIR/ref"
t_eq "$(shm_arenas)" "$shm_before" "kvfs arena files in /dev/shm"
kvfs_umount "$M"
t_log "a killed daemon: remounted, no shared arena file ($(t_elapsed))"
