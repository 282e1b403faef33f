#!/usr/bin/env bash
# test_fsck.sh - kvfsctl fsck on a real state directory: a clean store
# verifies, a running daemon is detected through the lock file, a row
# deleted behind the daemon's back leaves orphans that are found and named,
# --repair fixes what it claims (a second check is clean, and the daemon
# starts on the repaired index), and the exit codes follow fsck(8).
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_cmd sqlite3

K=$BUILD/kvfsctl
[[ -x $K ]] || t_fail "$K is missing (run make)"
M=$T_DIR/mnt
S=$T_DIR/state

# t_fsck EXPECTED_STATUS ARGS...: run kvfsctl fsck, output in $OUT.
t_fsck() {
	local want=$1 rc=0
	shift
	OUT=$("$K" fsck "$@" 2>&1) || rc=$?
	((rc == want)) || t_fail "kvfsctl fsck $*: exit status $rc, expected $want: $OUT"
}

kvfs_mount "$M" "$S" mem=64M
mkdir -p "$M/model/layer0" "$M/model/layer1" "$M/other"
echo data >"$M/model/layer0/p.kv"
setfattr -n user.note -v keep "$M/other"

# A daemon holds the state directory: refused, status 8.
t_fsck 8 "$S"
grep -q 'daemon (pid [0-9]*) is running' <<<"$OUT" || t_fail "fsck with the daemon running: $OUT"
kvfs_umount "$M"

# Clean: the file row is a notice (its data lived in memory), not an error.
t_fsck 0 "$S"
t_eq "$(tail -n 1 <<<"$OUT")" "$S: 6 rows (5 directories, 1 files), 1 xattrs: clean, 1 memory-only file rows (dropped at the next start)" "summary of a clean check"

# A directory's row goes missing: its subtree is named, by kind and row.
id=$(sqlite3 "$S/index.db" "SELECT id FROM inodes WHERE name = 'model'")
l0=$(sqlite3 "$S/index.db" "SELECT id FROM inodes WHERE name = 'layer0'")
sqlite3 "$S/index.db" "DELETE FROM inodes WHERE id = $id"
t_fsck 4 "$S"
grep -qx "orphan ?$id/layer0 (row $l0): its parent row $id does not exist" <<<"$OUT" ||
	t_fail "fsck does not name the orphan layer0: $OUT"
grep -q "^unreachable ?$id/layer0/p.kv " <<<"$OUT" || t_fail "fsck does not name p.kv below the orphan: $OUT"
grep -q "3 errors (orphan 2, unreachable 1).*run kvfsctl fsck --repair" <<<"$(tail -n 1 <<<"$OUT")" ||
	t_fail "summary of a damaged index: $OUT"
t_eq "$(sqlite3 "$S/index.db" 'SELECT COUNT(*) FROM inodes')" 5 "rows after a check without --repair"

# The progress bar shows on a terminal.
if command -v script >/dev/null; then
	bar=$(script -qec "$K fsck $S" /dev/null 2>&1 || true)
	grep -q 'fsck: \[' <<<"$bar" || t_fail "no progress bar on a terminal: $bar"
fi

t_fsck 1 --repair "$S"
grep -q '; repaired: 3 errors fixed$' <<<"$OUT" || t_fail "summary of the repair: $OUT"
t_fsck 0 "$S"
t_eq "$(tail -n 1 <<<"$OUT")" "$S: 2 rows (2 directories, 0 files), 1 xattrs: clean" "summary after the repair"

# The daemon starts on the repaired index, with what was reachable.
kvfs_mount "$M" "$S" mem=64M
t_eq "$(ls "$M" | tr '\n' ' ')" "other " "ls after the repair"
t_eq "$(t_xattr "$M/other" user.note)" keep "user.note of other after the repair"
kvfs_umount "$M"

# Operational errors and usage.
mkdir "$T_DIR/empty"
t_fsck 8 "$T_DIR/empty"
grep -q 'index.db does not exist' <<<"$OUT" || t_fail "fsck of a directory without an index: $OUT"
t_fsck 16 "$S" extra
t_log "ok ($(t_elapsed))"
