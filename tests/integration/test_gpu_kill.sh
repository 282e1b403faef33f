#!/usr/bin/env bash
# test_gpu_kill.sh - a fast-path client killed (SIGKILL) between RESERVE and
# COMMIT publishes nothing: the file keeps its committed size and bytes, and
# the reserved arena space comes back (statfs).  Then a daemon killed with
# SIGKILL leaves its arena file behind, and the next daemon on the same state
# directory replaces it.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_io pattern

M=$T_DIR/mnt
S=$T_DIR/state
kvfs_mount "$M" "$S"
t_require_kvfs_mount "$M"

# hang FILE OFF LEN: start a client that reserves and scribbles, then kill it.
hang_and_kill() {
	local out=$T_DIR/hang.out pid i free_before free_during
	free_before=$(t_statfs "$M" free)
	# Emptied here, not by the background job's redirection: that runs in
	# the child, possibly after the loop below has read the previous
	# call's "reserved" (a flake seen in CI).
	: >"$out"
	"$IT/gpu_io" hang "$1" "$2" "$3" >>"$out" 2>&1 &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		grep -qs '^reserved' "$out" && break
		kill -0 "$pid" 2>/dev/null || t_fail "gpu_io hang died: $(cat "$out")"
		sleep 0.1
	done
	grep -q '^reserved' "$out" || t_fail "gpu_io hang did not reserve within 30 s"
	free_during=$(t_statfs "$M" free)
	((free_before - free_during >= $3)) ||
		t_fail "a reservation of $3 bytes took only $((free_before - free_during)) bytes"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	# The kernel releases the dead client's file asynchronously.
	for ((i = 0; i < 100; i++)); do
		(($(t_statfs "$M" free) == free_before)) && return 0
		sleep 0.1
	done
	t_fail "free space is $(t_statfs "$M" free) 10 s after the kill, was $free_before"
}

# An existing published file, appended to by the fast path.
"$IT/pattern" 31 1M >"$T_DIR/ref"
cp "$T_DIR/ref" "$M/base.kv"
hang_and_kill "$M/base.kv" $((1 << 20)) $((64 << 20))
t_eq "$(t_size "$M/base.kv")" $((1 << 20)) "size of base.kv after the killed append"
t_cmp "$M/base.kv" "$T_DIR/ref"

# An unaligned reservation starting inside the file's last unit.
"$IT/pattern" 32 5000 >"$T_DIR/ref"
cp "$T_DIR/ref" "$M/odd.kv"
hang_and_kill "$M/odd.kv" 5000 $((8 << 20))
t_cmp "$M/odd.kv" "$T_DIR/ref"
truncate -s 16384 "$M/odd.kv"	# the bytes past the old EOF read as zeros
head -c $((16384 - 5000)) /dev/zero >>"$T_DIR/ref"
t_cmp "$M/odd.kv" "$T_DIR/ref"

# A new file created by the client: it holds nothing of the reservation.
hang_and_kill "$M/new.kv.tmp" 0 $((32 << 20))
t_eq "$(t_size "$M/new.kv.tmp")" 0 "size of the killed client's new file"
t_log "killed clients published nothing ($(t_elapsed))"

# A daemon killed with SIGKILL cannot remove its arena file; the next one on
# the same state directory replaces it.
read -r arena _ < <("$IT/gpu_io" info "$M")
ino_before=$(stat -c %i "$arena")
pid=${T_PID[$M]}
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
unset 'T_PID[$M]'
fusermount3 -u "$M" 2>/dev/null || fusermount3 -u -z "$M"
[[ -e $arena ]] || t_fail "the killed daemon's arena $arena is gone (expected it left behind)"
kvfs_mount "$M" "$S"
read -r arena2 _ < <("$IT/gpu_io" info "$M")
t_eq "$arena2" "$arena" "arena path after restarting on the same state directory"
t_ne "$(stat -c %i "$arena2")" "$ino_before" "inode of the replaced arena file"
"$IT/gpu_io" write "$M/after.kv" 33 16 64K >/dev/null
kvfs_umount "$M"
[[ ! -e $arena ]] || t_fail "the arena file $arena is still there after unmounting"
