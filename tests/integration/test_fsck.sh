#!/usr/bin/env bash
# test_fsck.sh - kvfsctl fsck on a real state directory: a clean store
# verifies, a running daemon is detected through the lock file, a row
# deleted behind the daemon's back leaves orphans that are found and named,
# --repair fixes what it claims (a second check is clean, and the daemon
# starts on the repaired index), and the exit codes follow fsck(8).
# With an SSD tier: stored files verify against their checksums; a row
# deleted by hand leaves only free space (nothing to report); a flipped
# byte in a slab is found and the file named; --repair deletes that file's
# row, a second check is clean, and the daemon mounts with every other file
# reading back byte-equal; --ssd finds a store that moved.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_cmd sqlite3 python3

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
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested

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
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested

# ---- an SSD tier ----
S2=$T_DIR/state2
D2=$T_DIR/ssd2
R=$T_DIR/ref
mkdir -p "$D2" "$R"
head -c $((3 << 20)) /dev/urandom >"$R/a.kv"
head -c $(((5 << 19) + 77)) /dev/urandom >"$R/b.kv"
head -c 100 /dev/urandom >"$R/c.kv"
head -c $((1 << 20)) /dev/urandom >"$R/d.kv"
kvfs_mount "$M" "$S2" "mem=64M,ssd=$D2,ssd_size=64M"
mkdir -p "$M/m/sub"
cp "$R/a.kv" "$R/b.kv" "$R/c.kv" "$M/m/"
cp "$R/d.kv" "$M/m/sub/"
echo memory >"$M/m/sub/x.kv"
kvfs_umount "$M"   # a clean unmount writes every file to the SSD
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested

# Clean: every stored file verified, against the directory the index records.
t_fsck 0 "$S2"
t_eq "$(tail -n 1 <<<"$OUT")" "$S2: 8 rows (3 directories, 5 files), 0 xattrs, 5 stored files (6.5M verified): clean" \
	"summary of a clean check with stored files"
t_eq "$(sqlite3 "$S2/index.db" "SELECT value FROM meta WHERE key = 'ssd_dir'")" "$(realpath "$D2")" \
	"the SSD directory the index records"

# A row deleted by hand: its SSD runs are free space, nothing to report.
sqlite3 "$S2/index.db" "DELETE FROM inodes WHERE name = 'c.kv'"
t_fsck 0 "$S2"
grep -q ' 4 stored files (6.5M verified): clean$' <<<"$OUT" || t_fail "after deleting a row: $OUT"

# ssd_pos NAME CHUNK: "SLAB_FILE OFFSET" of a byte inside chunk CHUNK of
# NAME's stored copy (map.h: the blob's chunk entries follow a 32-byte
# header, 16 bytes each, soff first; ssd.h: soff % stride in its slab).
ssd_pos() {
	python3 - "$(sqlite3 "$S2/index.db" "SELECT hex(map) FROM inodes WHERE name = '$1'")" "$2" "$D2" <<'EOF'
import struct, sys
blob, k, d = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soff, = struct.unpack_from('<Q', blob, 32 + 16 * k)
with open(d + '/kvfs-slab-0000', 'rb') as f:
    slab_size, = struct.unpack_from('<Q', f.read(40), 32)
stride = 4096 + slab_size
print('%s/kvfs-slab-%04d %d' % (d, soff // stride, soff % stride + 4321))
EOF
}
# flip FILE OFFSET: inverts one bit of one byte.
flip() {
	python3 - "$1" "$2" <<'EOF'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x10]))
EOF
}
a_id=$(sqlite3 "$S2/index.db" "SELECT id FROM inodes WHERE name = 'a.kv'")
flip $(ssd_pos a.kv 1)

# Found and named; the check changes nothing.
t_fsck 4 "$S2"
grep -qx "bad-data /m/a.kv (row $a_id): chunk 1 (file bytes 1048576-2097151) does not match its checksum: reads fail with EIO; --repair deletes its row" <<<"$OUT" ||
	t_fail "fsck does not name the flipped byte's file: $OUT"
grep -q '1 errors (bad-data 1); run kvfsctl fsck --repair' <<<"$(tail -n 1 <<<"$OUT")" ||
	t_fail "summary of a flipped byte: $OUT"
# ... as the daemon says when the file is read.
kvfs_mount "$M" "$S2" "mem=64M,ssd=$D2,ssd_size=64M"
if cat "$M/m/a.kv" >/dev/null 2>"$T_DIR/err"; then t_fail "a.kv read back despite the flipped byte"; fi
grep -q 'Input/output error' "$T_DIR/err" || t_fail "reading a.kv: $(cat "$T_DIR/err")"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested

# --repair deletes the row of that file, and names it.
t_fsck 1 --repair "$S2"
grep -qx "bad-data /m/a.kv (row $a_id): .*; its row is deleted" <<<"$OUT" || t_fail "the repair does not name a.kv: $OUT"
grep -q '; repaired: 1 errors fixed$' <<<"$OUT" || t_fail "summary of the repair: $OUT"
t_fsck 0 "$S2"
grep -q ' 3 stored files (3.5M verified): clean$' <<<"$OUT" || t_fail "check after the repair: $OUT"

# The daemon mounts the repaired index; every other file reads back.
kvfs_mount "$M" "$S2" "mem=64M,ssd=$D2,ssd_size=64M"
t_eq "$(ls "$M/m" | tr '\n' ' ')" "b.kv sub " "ls after the repair"
t_cmp "$R/b.kv" "$M/m/b.kv"
t_cmp "$R/d.kv" "$M/m/sub/d.kv"
t_eq "$(cat "$M/m/sub/x.kv")" memory "x.kv after the repair"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested

# The SSD directory moved: named, not repairable; --ssd finds it.
mv "$D2" "$T_DIR/ssd2-moved"
t_fsck 4 --repair "$S2"
grep -q "^ssd-store $(realpath -m "$D2"): No such file or directory (the SSD directory the index records; if it moved, pass --ssd DIR)" <<<"$OUT" ||
	t_fail "fsck of a moved SSD directory: $OUT"
grep -q '; 1 not repairable$' <<<"$OUT" || t_fail "summary of a moved SSD directory: $OUT"
t_fsck 0 --ssd "$T_DIR/ssd2-moved" "$S2"
grep -q ' 3 stored files (3.5M verified): clean$' <<<"$OUT" || t_fail "fsck --ssd: $OUT"
mkdir "$T_DIR/not-a-store"
t_fsck 4 --ssd "$T_DIR/not-a-store" "$S2"
grep -q "^ssd-store $T_DIR/not-a-store: holds no slab files" <<<"$OUT" || t_fail "fsck --ssd of an empty directory: $OUT"

# Operational errors and usage.
mkdir "$T_DIR/empty"
t_fsck 8 "$T_DIR/empty"
grep -q 'index.db does not exist' <<<"$OUT" || t_fail "fsck of a directory without an index: $OUT"
t_fsck 16 "$S" extra
t_log "ok ($(t_elapsed))"
