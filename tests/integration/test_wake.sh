#!/usr/bin/env bash
# test_wake.sh - wake_here= (fs/wake.c) on a real mount.  Where the kernel
# has /sys/module/fuse/parameters/wake_here: the default turns it on and says
# so (the log, /.kvfs/config), a daemon that finds it on says that,
# wake_here=0 leaves it off; the test puts the value it found back at the
# end, pass or fail.  Where the kernel has none: the mount says "absent" and
# wake_here=1 refuses to start with one line.  Every mount must work either
# way (a file written and read back).
. "$(dirname "$0")/lib.sh"
t_require_fuse

P=/sys/module/fuse/parameters/wake_here
M=$T_DIR/mnt
S=$T_DIR/state

wake_line() { grep '^# kernel: fuse wake_here ' "$M/.kvfs/config" || echo "(none)"; }

# mount_and_check OPTS WANT: mounts with OPTS, checks the config's line is
# WANT and that a file goes through, unmounts.
mount_and_check() {
	kvfs_mount "$M" "$S" "$1"
	[[ $(wake_line) == "# kernel: fuse wake_here $2" ]] ||
		t_fail "-o $1: config says '$(wake_line)', expected '# kernel: fuse wake_here $2'"
	local opt=${1#wake_here=}
	grep -qx "wake_here=${opt:-auto}" "$M/.kvfs/config" ||
		t_fail "-o $1: config's option line: $(grep '^wake_here' "$M/.kvfs/config" || echo none)"
	head -c 300000 /dev/urandom >"$T_DIR/ref"
	cp "$T_DIR/ref" "$M/f"
	t_cmp "$T_DIR/ref" "$M/f"
	kvfs_umount "$M"
}

if [[ ! -e $P ]]; then
	mount_and_check "" "absent (this kernel has no $P)"
	rc=0
	out=$(timeout 10 "$KVFS" "$M" -f -o "state=$S,mem=64M,wake_here=1" 2>&1 </dev/null) || rc=$?
	t_is_mounted "$M" && t_fail "wake_here=1 mounted on a kernel without $P"
	((rc == 1)) || t_fail "wake_here=1 without $P: exit status $rc, expected 1 ($out)"
	[[ $out == "kvfs: wake_here=1: cannot turn on $P (No such file or directory); use wake_here=auto" ]] ||
		t_fail "wake_here=1 without $P said: $out"
	t_log "ok: no $P here: absent, and wake_here=1 refused"
	exit 0
fi
[[ -w $P ]] || t_skip "$P exists but $(id -un) may not write it"

saved=$(cat "$P")
trap 'rc=$?; echo "$saved" >"$P" 2>/dev/null; (exit $rc); t_cleanup' EXIT

echo N >"$P"
mount_and_check "" "on (set by this daemon; the whole host's FUSE mounts have it)"
[[ $(cat "$P") == Y ]] || t_fail "the default mount left $P at $(cat "$P")"
grep -qF "kvfs: turned on $P" "$T_DIR"/kvfs.1.log ||
	t_fail "the daemon did not log that it turned $P on: $(cat "$T_DIR"/kvfs.1.log)"
mount_and_check "wake_here=1" "on (it was on already)"
echo N >"$P"
mount_and_check "wake_here=0" "off (wake_here=0 left it so)"
[[ $(cat "$P") == N ]] || t_fail "wake_here=0 changed $P to $(cat "$P")"
mount_and_check "wake_here=1" "on (set by this daemon; the whole host's FUSE mounts have it)"
[[ $(cat "$P") == Y ]] || t_fail "wake_here=1 left $P at $(cat "$P")"
t_log "ok: $P turned on by default and by 1, left off by 0 (put back to $saved)"
