#!/usr/bin/env bash
# test_ssd_faults.sh - the SSD directory fails under a running daemon.  The SSD
# tier lives on a 200 MiB ext4 filesystem of its own (a loop device, mounted
# errors=remount-ro), which then:
#   - fills up: another file takes every free block after kvfs started; the
#     slabs are preallocated, so new files, rewrites and fsync keep working
#     and every file reads back;
#   - turns read-only (an ext4 error, the way a failing disk goes): files
#     stay readable, from memory and from the SSD; new files are written into
#     memory while it has room, then ENOSPC; fsync of a new file fails with
#     EIO (logged with the path); the daemon counts flush_errors and keeps
#     running.  Made writable again (unmount, e2fsck, mount) and restarted,
#     kvfs brings back every file stored before the fault, byte for byte, and
#     none of those the fault kept in memory (no row points at bytes that
#     never reached the SSD);
#   - is read-only at start: kvfs exits 1 with one line saying so, for a new
#     store and for one that holds files.
# Needs root, loop devices and mkfs.ext4; skips without them.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern
t_require_cmd mkfs.ext4 e2fsck python3
[[ $(id -u) == 0 ]] || t_skip "needs root to mount a loop device"

M=$T_DIR/mnt
S=$T_DIR/state
D=$T_DIR/ssd
IMG=$T_DIR/ssd.img
OPTS="mem=64M,ssd=$D,ssd_size=128M"
MIB=$((1 << 20))

# --- the SSD filesystem ------------------------------------------------------

# ssd_mount: the image on $D (mount -o loop frees its loop device at unmount,
# so the cleanup's unmount of T_OTHER_MOUNTS releases everything).
ssd_mount() {
	local err
	err=$(mount -o loop,errors=remount-ro "$IMG" "$D" 2>&1) ||
		t_skip "cannot mount an ext4 image on a loop device here: $err"
	T_OTHER_MOUNTS+=("$D")
	t_eq "$(t_mount_type "$D")" ext4 "filesystem type of the SSD directory"
}

ssd_umount() {
	umount "$D" || t_fail "umount $D failed"
	unset 'T_OTHER_MOUNTS[-1]'
}

# ssd_opts: the mount options of $D in /proc/mounts.
ssd_opts() {
	awk -v m="$D" '$2 == m { o = $4 } END { print o }' /proc/mounts
}

truncate -s 200M "$IMG"
mkfs.ext4 -q -F "$IMG" >/dev/null
mkdir -p "$D" "$M" "$S"
ssd_mount
dev=$(awk -v m="$D" '$2 == m { d = $1 } END { print d }' /proc/mounts)
trigger=/sys/fs/ext4/${dev##*/}/trigger_fs_error
[[ -w $trigger ]] || t_skip "no $trigger: this kernel cannot turn ext4 read-only at run time"

# --- helpers -----------------------------------------------------------------

stat_of() {
	awk -v k="$1" '$1 == k { print $2 }' "$M/.kvfs/stats"
}

# put NAME SEED SIZE: write a file of pattern SEED.
put() {
	"$IT/pattern" "$2" "$3" >"$M/$1" || t_fail "writing $1 ($3 bytes) failed"
}

# same NAME SEED SIZE: the file holds pattern SEED, SIZE bytes.
same() {
	cmp -s <("$IT/pattern" "$2" "$3") "$M/$1" ||
		t_fail "$1: content differs from pattern $2 ($3 bytes): $(cmp <("$IT/pattern" "$2" "$3") "$M/$1" 2>&1)"
}

# fsync_of PATH: fsync through a new read-only descriptor; prints OK or the
# errno name.
fsync_of() {
	python3 - "$1" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.fsync(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
}

# stored NAME...: wait (20 s at most) until the SSD holds every NAME.
stored() {
	local n i
	for n; do
		for ((i = 0; i < 200; i++)); do
			[[ $(t_xattr "$M/$n" user.kvfs.tier) == *ssd* ]] && break
			sleep 0.1
		done
		[[ $(t_xattr "$M/$n" user.kvfs.tier) == *ssd* ]] ||
			t_fail "$n did not reach the SSD within 20 s (tier $(t_xattr "$M/$n" user.kvfs.tier))"
	done
}

# refuse_ro: kvfs on the read-only $D exits 1 with one line saying so.
refuse_ro() {
	local out rc=0
	T_MOUNTS+=("$M")
	out=$(timeout 10 "$KVFS" "$M" -f -o "state=$S,$OPTS" 2>&1 </dev/null) || rc=$?
	t_is_mounted "$M" && t_fail "kvfs mounted $M over a read-only ssd=$D"
	t_eq "$rc" 1 "exit status of kvfs with ssd= on a read-only filesystem ($out)"
	[[ $out == "kvfs: "*"ssd=$D is read-only"* && $(grep -c '' <<<"$out") == 1 ]] ||
		t_fail "kvfs with ssd= read-only: expected one line 'kvfs: ssd=$D is read-only ...', got: $out"
	t_log "refused: $out"
}

# --- start: a read-only SSD directory is refused ------------------------------

mount -o remount,ro "$D"
refuse_ro
mount -o remount,rw "$D"

kvfs_mount "$M" "$S" "$OPTS"
# A: 12 files of 6 MiB, more than mem=: some only the SSD holds, later.
for i in $(seq 1 12); do put "a$i.kv" "$i" $((6 * MIB)); done
stored $(seq -f 'a%g.kv' 1 12)

# --- the filesystem fills up ------------------------------------------------

[[ $(t_mount_type "$D") == ext4 ]] || t_fail "$D is no longer the ext4 mount"
dd if=/dev/zero of="$D/filler" bs=1M count=400 2>/dev/null && t_fail "a 400 MiB filler fit on the 200 MiB filesystem"
t_eq "$(t_statfs "$D" avail)" 0 "free bytes left on the SSD filesystem after the filler"
for i in 1 2 3 4; do put "b$i.kv" $((100 + i)) $((4 * MIB)); done
t_eq "$(fsync_of "$M/b1.kv")" OK "fsync of a new file on the full filesystem"
put a1.kv 1001 $((5 * MIB)) # a rewrite goes to new runs
t_eq "$(fsync_of "$M/a1.kv")" OK "fsync of a rewritten file on the full filesystem"
stored b1.kv b2.kv b3.kv b4.kv a1.kv
same a1.kv 1001 $((5 * MIB))
for i in $(seq 2 12); do same "a$i.kv" "$i" $((6 * MIB)); done
for i in 1 2 3 4; do same "b$i.kv" $((100 + i)) $((4 * MIB)); done
t_eq "$(stat_of flush_errors)" 0 "flush_errors with the filesystem full"
t_eq "$(stat_of ssd_io_errors)" 0 "ssd_io_errors with the filesystem full"
kvfs_alive "$M"
rm "$D/filler"
t_log "full: writes, rewrites and fsync went on ($(t_elapsed))"

# --- the filesystem turns read-only -------------------------------------------

ssd_only=0
for i in $(seq 2 12); do
	[[ $(t_xattr "$M/a$i.kv" user.kvfs.tier) == ssd ]] && ssd_only=$((ssd_only + 1))
done
((ssd_only > 0)) || t_fail "no file is on the SSD only before the fault (mem=64M, 96 MiB written)"
echo "kvfs test: read-only SSD" >"$trigger"
# ext4 marks it "emergency_ro" (Linux 6.x; "ro" before) and refuses writes.
ssd_ro() { [[ ,$(ssd_opts), == *,ro,* || ,$(ssd_opts), == *,emergency_ro,* ]]; }
for ((i = 0; i < 50; i++)); do
	ssd_ro && break
	sleep 0.1
done
ssd_ro || t_fail "ext4 did not turn read-only after the error (options $(ssd_opts))"
t_fsop EROFS creat "$D/probe"

# Published files stay readable: from memory and from the SSD.
same a1.kv 1001 $((5 * MIB))
for i in $(seq 2 12); do same "a$i.kv" "$i" $((6 * MIB)); done
for i in 1 2 3 4; do same "b$i.kv" $((100 + i)) $((4 * MIB)); done
# New files go to memory; their fsync fails with EIO, deliberately.
for i in 1 2 3; do put "c$i.kv" $((200 + i)) $((4 * MIB)); done
t_eq "$(fsync_of "$M/c1.kv")" EIO "fsync of a new file with the SSD read-only"
grep -q "fsync of /c1.kv failed: the SSD tier refused it" "${T_LOG[$M]}" ||
	t_fail "the daemon did not log the failed fsync of /c1.kv"
# fsync before the close that publishes a new file (ds4, SGLang): the close
# keeps the promise (docs/design.md), so the close reports the failure.
t_eq "$(python3 - "$M/c4.kv" <<'EOF'
import errno, os, sys
def call(f, *a):
    try:
        f(*a)
        return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, b"x" * (1 << 20))
print(call(os.fsync, fd), call(os.close, fd))
EOF
)" "OK EIO" "fsync, then close, of a new file with the SSD read-only"
for i in 1 2 3; do same "c$i.kv" $((200 + i)) $((4 * MIB)); done
fe=$(stat_of flush_errors)
((fe > 0)) || t_fail "flush_errors is $fe after failed flushes"
# ... while memory has room: then ENOSPC, and nothing else breaks.
full=0
for i in $(seq 1 16); do
	if ! "$IT/pattern" $((300 + i)) $((8 * MIB)) >"$M/d$i.kv" 2>/dev/null; then
		full=$i
		break
	fi
done
((full > 0)) || t_fail "128 MiB more went into mem=64M with the SSD read-only"
t_log "read-only: ENOSPC at file d$full, flush_errors $(stat_of flush_errors) ($(t_elapsed))"
kvfs_alive "$M"
for i in $(seq 2 12); do same "a$i.kv" "$i" $((6 * MIB)); done
same c2.kv 202 $((4 * MIB))

# --- writable again: everything stored before the fault is back ---------------

log=${T_LOG[$M]}
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
grep -q "memory-only files could not be written to the SSD at unmount (Read-only file system)" "$log" ||
	t_fail "the daemon did not say at unmount that files could not be written: $(tail -n 3 "$log")"
ssd_umount
rc=0
e2fsck -fy "$IMG" >/dev/null 2>&1 || rc=$?
((rc <= 1)) || t_fail "e2fsck of the SSD filesystem exited $rc"
ssd_mount
kvfs_mount "$M" "$S" "$OPTS"
same a1.kv 1001 $((5 * MIB))
for i in $(seq 2 12); do same "a$i.kv" "$i" $((6 * MIB)); done
for i in 1 2 3 4; do same "b$i.kv" $((100 + i)) $((4 * MIB)); done
for f in c1 c2 c3 c4 $(seq -f 'd%g' 1 "$full"); do
	t_fsop ENOENT stat "$M/$f.kv"
done
t_eq "$(stat_of checksum_errors)" 0 "checksum errors after the restart"
put e1.kv 400 $((3 * MIB))
t_eq "$(fsync_of "$M/e1.kv")" OK "fsync once the SSD is writable again"
t_eq "$(stat_of flush_errors)" 0 "flush_errors after the restart"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested

# --- a store that holds files, on a filesystem read-only at start -------------

mount -o remount,ro "$D"
refuse_ro
mount -o remount,rw "$D"
kvfs_mount "$M" "$S" "$OPTS"
same e1.kv 400 $((3 * MIB))
same a7.kv 7 $((6 * MIB))
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
