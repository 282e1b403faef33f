#!/usr/bin/env bash
# test_ssd_tier.sh - the SSD tier on a real mount (DESIGN.md 2, 3.5, 5):
#   - bad ssd options stop the daemon at start with one line, nothing mounted;
#   - files twice the memory tier spill to the SSD (tier "ssd", demotions),
#     read back byte-equal (promotions);
#   - a clean unmount and a restart bring back every file: bytes, size,
#     names, user.* xattrs, user.kvfs.pin and user.kvfs.parent;
#   - a ds4-style scan of 52-byte heads of SSD-resident files is served from
#     memory: the 52-byte reads reach kvfs and ssd_reads does not move;
#   - ds4's rewrites of SSD-resident files (48-byte header by dd, which
#     closes a dup first; ftruncate + trailer), rename-replace and a shell
#     append read back right, are written through, and survive a restart;
#   - an in-place rewrite of a stored file in memory flushes only the
#     chunk it changed, also when a bound writer made it;
#   - write_policy=back keeps published files in memory (no flushes), writes
#     cold ones out under memory pressure and all at a clean unmount; fsync
#     (after close, or before it: then the publishing close syncs) makes a
#     file durable across SIGKILL, while a file never flushed comes back
#     whole or not at all.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper fsop pattern
t_require_cmd python3 getfattr setfattr

M=$T_DIR/mnt
S=$T_DIR/state
D=$T_DIR/ssd
mkdir -p "$D"
MIB=$((1 << 20))

# stat_store NAME, stat_io NAME: counters of /.kvfs/stats.json.
stat_store() { t_stat "$M" store "$1"; }
stat_io() { t_stat "$M" io "$1"; }
tier() { t_xattr "$1" user.kvfs.tier; }

wait_flushed() { t_wait_flushed "$M"; }
wait_stored() { t_wait_stored "$1"; }

# --- options: one clear line, exit 1, nothing mounted ---------------------------
# bad_opt OPTS PATTERN: kvfs -o OPTS exits 1 with one line matching PATTERN.
bad_opt() {
	local opts=$1 want=$2 rc=0 out
	mkdir -p "$M"
	timeout 20 "$KVFS" -f "$M" -o "state=$T_DIR/optstate,mem=64M,$opts" \
		>"$T_DIR/opt.out" 2>&1 </dev/null || rc=$?
	out=$(cat "$T_DIR/opt.out")
	((rc == 1)) || t_fail "-o $opts: exit status $rc, expected 1; output: $out"
	[[ $(wc -l <<<"$out") -eq 1 ]] || t_fail "-o $opts: expected one line, got: $out"
	[[ $out == kvfs:* && $out =~ $want ]] ||
		t_fail "-o $opts: expected a line matching '$want', got: $out"
	t_is_mounted "$M" && t_fail "-o $opts: $M is mounted after a failed start"
	return 0
}
touch "$T_DIR/plainfile"
bad_opt "ssd=$T_DIR/nonexistent,ssd_size=64M" "ssd=$T_DIR/nonexistent.*(no such|not exist)"
bad_opt "ssd=$T_DIR/plainfile,ssd_size=64M" "ssd=$T_DIR/plainfile.*not a directory"
bad_opt "ssd=$D,ssd_size=32M" "ssd_size=32M is too small"
bad_opt "ssd_size=128M" "ssd_size=128M needs ssd="
bad_opt "ssd=$D,write_policy=sideways" "write_policy=sideways is not one of through, back"
bad_opt "ssd=$D,evict_policy=mru" "evict_policy=mru is not one of hybrid, lru, lfu"
[[ -z $(ls -A "$D") ]] || t_fail "failed starts left files in $D: $(ls -A "$D")"
t_log "options refused ($(t_elapsed))"

# --- spill: twice the memory tier ------------------------------------------------
kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=512M"
t_require_kvfs_mount "$M"
NF=16
fsz=$((8 * MIB))
for ((i = 1; i <= NF; i++)); do
	"$IT/pattern" "$i" "$fsz" >"$T_DIR/ref$i"
	cp "$T_DIR/ref$i" "$M/f$i.kv"
done
wait_flushed
nssd=0
for ((i = 1; i <= NF; i++)); do
	[[ $(tier "$M/f$i.kv") == ssd ]] && nssd=$((nssd + 1))
done
((nssd >= NF / 2)) || t_fail "only $nssd of $NF 8 MiB files are on tier ssd with mem=64M"
t_eq "$(tier "$M/f1.kv")" ssd "tier of the coldest file"
((${nssd} == $(stat_store ssd_only_files))) ||
	t_fail "ssd_only_files is $(stat_store ssd_only_files), $nssd files show tier ssd"
(($(stat_store demotions) > 0)) || t_fail "no demotions after writing 128 MiB into mem=64M"
promo0=$(stat_store promotions)
for ((i = 1; i <= NF; i++)); do
	t_cmp "$T_DIR/ref$i" "$M/f$i.kv"
done
(($(stat_store promotions) > promo0)) || t_fail "reading the SSD-resident files back promoted none"
t_eq "$(stat_store checksum_errors)" 0 "checksum_errors"
t_log "spill: $nssd of $NF files on the SSD, all read back ($(t_elapsed))"

# A promotion is answered step by step: several readers of one SSD-only
# file at once (from the start, and from the middle, which reads through
# the SSD or waits for its chunks), and a writer that waits for the
# promotion to end, all see the right bytes.
for ((i = 1; i <= NF; i++)); do
	cat "$M/f$((NF + 1 - i)).kv" >/dev/null	# f1 ends up the coldest
done
for ((i = 1; i <= 4; i++)); do
	[[ $(tier "$M/f1.kv") == ssd ]] && break
	cat "$M"/f1[0-6].kv >/dev/null
done
t_eq "$(tier "$M/f1.kv")" ssd "tier of f1.kv before the concurrent readers"
pids=()
# The readers skip the 7 bytes the writer changes, whenever it lands.
for ((j = 0; j < 3; j++)); do
	dd if="$M/f1.kv" bs=1M status=none | cmp -i 7 "$T_DIR/ref1" - & pids+=($!)
done
dd if="$M/f1.kv" bs=1M skip=5 status=none | cmp - <(tail -c +$((5 * MIB + 1)) "$T_DIR/ref1") &
pids+=($!)
printf 'NEWHEAD' | dd of="$M/f1.kv" bs=7 count=1 conv=notrunc status=none
for p in "${pids[@]}"; do
	wait "$p" || t_fail "a concurrent reader of the promoting f1.kv read wrong bytes"
done
printf 'NEWHEAD' | dd of="$T_DIR/ref1" bs=7 count=1 conv=notrunc status=none
t_cmp "$T_DIR/ref1" "$M/f1.kv"
t_log "concurrent readers and a writer during a promotion ($(t_elapsed))"

# An in-place rewrite of a stored file in memory writes only the chunk it
# changed to the SSD.  A bound (passthrough) writer's bytes never reach the
# daemon, which marks every chunk changed: the flusher keeps the 7 whose
# CRC did not move (flush_unchanged_bytes).
wait_flushed
"$IT/pattern" 300 "$fsz" >"$T_DIR/refg"
cp "$T_DIR/refg" "$M/g.kv"
wait_stored "$M/g.kv"
wait_flushed
t_eq "$(tier "$M/g.kv")" memory+ssd "tier of g.kv before its in-place rewrite"
flushed0=$(stat_store flushed_bytes)
kept0=$(stat_store flush_unchanged_bytes)
bound0=$(stat_io opens_passthrough)
for f in "$T_DIR/refg" "$M/g.kv"; do
	printf 'KVHDR-v2 hits=000002 ts=1700000001 tokens=054321' |
		dd of="$f" bs=48 count=1 seek=$((3 * MIB + 100)) oflag=seek_bytes conv=notrunc status=none
done
wait_stored "$M/g.kv"
wait_flushed
t_eq "$(($(stat_store flushed_bytes) - flushed0))" "$MIB" "bytes flushed for a 48-byte rewrite of an 8 MiB file"
if (($(stat_io opens_passthrough) > bound0)); then
	t_eq "$(($(stat_store flush_unchanged_bytes) - kept0))" $((7 * MIB)) \
		"chunks a bound rewrite left as they were, kept by their CRC"
fi
t_cmp "$T_DIR/refg" "$M/g.kv"
t_log "in-place rewrite: 1 MiB flushed ($(t_elapsed))"

# Metadata for the restart: user.* xattrs, a pin, a parent.
setfattr -n user.model -v llama-70b "$M/f1.kv"
setfattr -n user.note -v "two words" "$M/f2.kv"
setfattr -n user.kvfs.pin -v 1 "$M/f3.kv"
setfattr -n user.kvfs.parent -v f3.kv "$M/f4.kv"
"$IT/pattern" 100 4000 >"$T_DIR/small"	# smaller than the head
cp "$T_DIR/small" "$M/small.bin"
: >"$M/empty.bin"
mkdir "$M/sub"
"$IT/pattern" 101 3M >"$T_DIR/sub"
cp "$T_DIR/sub" "$M/sub/x.bin"
names=$(ls "$M" "$M/sub")

# --- restart after a clean unmount ----------------------------------------------
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=512M"
t_eq "$(ls "$M" "$M/sub")" "$names" "ls after the restart"
for ((i = 1; i <= NF; i++)); do
	t_eq "$(t_size "$M/f$i.kv")" "$fsz" "size of f$i.kv after the restart"
	[[ $(tier "$M/f$i.kv") == ssd ]] || t_fail "f$i.kv is on tier $(tier "$M/f$i.kv") right after the restart"
done
t_eq "$(t_xattr "$M/f1.kv" user.model)" llama-70b "user.model after the restart"
t_eq "$(t_xattr "$M/f2.kv" user.note)" "two words" "user.note after the restart"
t_eq "$(t_xattr "$M/f3.kv" user.kvfs.pin)" 1 "user.kvfs.pin after the restart"
t_eq "$(t_xattr "$M/f4.kv" user.kvfs.parent)" f3.kv "user.kvfs.parent after the restart"
t_fsop ENODATA getxattr "$M/f5.kv" user.kvfs.pin
for ((i = 1; i <= NF; i++)); do
	t_cmp "$T_DIR/ref$i" "$M/f$i.kv"
done
t_cmp "$T_DIR/small" "$M/small.bin"
t_cmp "$T_DIR/sub" "$M/sub/x.bin"
t_eq "$(t_size "$M/empty.bin")" 0 "size of the empty file after the restart"
t_log "restart: every file back ($(t_elapsed))"

# --- header rewrite of an SSD-resident file --------------------------------------
# Fill memory with other reads so that f5 is on the SSD only again.
for ((i = 6; i <= NF; i++)); do cat "$M/f$i.kv" >/dev/null; done
wait_flushed
t_eq "$(tier "$M/f5.kv")" ssd "tier of f5.kv before its header rewrite"
"$IT/pattern" 555 48 >"$T_DIR/hdr"
dd if="$T_DIR/hdr" of="$M/f5.kv" bs=48 count=1 conv=notrunc status=none
{ cat "$T_DIR/hdr"; tail -c +49 "$T_DIR/ref5"; } >"$T_DIR/ref5.new"
mv "$T_DIR/ref5.new" "$T_DIR/ref5"
t_eq "$(t_size "$M/f5.kv")" "$fsz" "size of f5.kv after its header rewrite"
t_cmp "$T_DIR/ref5" "$M/f5.kv"
# Regression: dd dup2()s its output and closes the original first; that
# flush must not end the writer before dd's write, or the rewrite is never
# queued for the SSD.
wait_stored "$M/f5.kv"
# ds4 also cuts a final file and rewrites its trailer (ftruncate + write)...
t_eq "$(tier "$M/f2.kv")" ssd "tier of f2.kv before its trailer rewrite"
python3 - "$M/f2.kv" "$T_DIR/ref2" <<'EOF'
import os, sys
for path in sys.argv[1:3]:
    with open(path, 'r+b') as f:
        size = os.fstat(f.fileno()).st_size
        f.truncate(size - 5000)
        f.seek(size - 5000 - 16)
        f.write(b'TRAILER-0123456\n')
EOF
t_cmp "$T_DIR/ref2" "$M/f2.kv"
wait_stored "$M/f2.kv"
# ...and replaces files by rename() from a temporary name.
"$IT/pattern" 77 3M >"$T_DIR/ref7"
cp "$T_DIR/ref7" "$M/f7.kv.tmp.4242"
mv "$M/f7.kv.tmp.4242" "$M/f7.kv"
t_cmp "$T_DIR/ref7" "$M/f7.kv"
wait_stored "$M/f7.kv"
printf 'appended by a shell redirection\n' >>"$M/f7.kv"
printf 'appended by a shell redirection\n' >>"$T_DIR/ref7"
t_cmp "$T_DIR/ref7" "$M/f7.kv"
wait_stored "$M/f7.kv"
rm "$M/f6.kv"	# an unlinked file stays gone across a restart
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=512M"
t_cmp "$T_DIR/ref5" "$M/f5.kv"
t_cmp "$T_DIR/ref2" "$M/f2.kv"
t_eq "$(t_xattr "$M/f2.kv" user.note)" "two words" "user.note after the trailer rewrite and a restart"
t_cmp "$T_DIR/ref7" "$M/f7.kv"
t_fsop ENOENT stat "$M/f6.kv"
t_fsop ENOENT stat "$M/f7.kv.tmp.4242"
t_log "header and trailer rewrites, rename-replace survive the restart ($(t_elapsed))"

# --- ds4-style header scan --------------------------------------------------------
rm -f "$M"/f*.kv
NH=200
mkdir "$M/h"
for ((i = 0; i < NH; i++)); do
	"$IT/pattern" "$((1000 + i))" "$((MIB + i * 4096 + 100))" >"$M/h/$i.kv"
done
wait_flushed
nssd=0
for ((i = 0; i < NH; i++)); do
	[[ $(tier "$M/h/$i.kv") == ssd ]] && nssd=$((nssd + 1))
done
((nssd >= NH / 2)) || t_fail "only $nssd of $NH header-scan files are SSD-resident"
reads0=$(stat_store ssd_reads)
hits0=$(stat_store memory_hits)
bytes0=$(stat_io read_bytes)
served0=$(stat_io opens_served)
python3 - "$M/h" "$NH" "$IT/pattern" <<'EOF'
import os, subprocess, sys
d, n, pattern = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    want = subprocess.run([pattern, str(1000 + i), '52'], capture_output=True,
                          check=True).stdout
    fd = os.open('%s/%d.kv' % (d, i), os.O_RDONLY)
    got = os.read(fd, 52)
    os.close(fd)
    assert got == want, 'head of %d.kv: %r != %r' % (i, got, want)
EOF
t_eq "$(stat_store ssd_reads)" "$reads0" "ssd_reads after scanning $NH heads ($nssd SSD-resident)"
# The daemon reads 52 bytes for every open it serves: all of them, or,
# with passthrough, those of SSD-resident files (the kernel reads the
# others from their backing files, and the daemon sees nothing).
served=$(($(stat_io opens_served) - served0))
[[ $(t_stat "$M" io passthrough) == True ]] || t_eq "$served" "$NH" "opens the daemon served"
((served >= nssd)) || t_fail "only $served of $nssd SSD-resident files' opens were served by the daemon"
t_eq "$(($(stat_io read_bytes) - bytes0))" "$((served * 52))" \
	"bytes read by kvfs for $served 52-byte head reads it served (direct I/O)"
t_eq "$(($(stat_store memory_hits) - hits0))" "$NH" "memory hits of the head scan"
# The same scan through stdio, as ds4 reads headers (fopen, fread 52
# bytes): the buffer is st_blksize, which is 4 KiB for SSD-only files, so
# the head still answers (1 MiB would promote every file at every scan).
blk=$(stat -c %o "$M/h/0.kv")
[[ $(tier "$M/h/0.kv") == ssd ]] && t_eq "$blk" 4096 "st_blksize of an SSD-only file"
reads0=$(stat_store ssd_reads)
promo0=$(stat_store promotions)
python3 - "$M/h" "$NH" <<'EOF'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open('%s/%d.kv' % (d, i), 'rb') as f:   # buffered, like fread
        assert len(f.read(52)) == 52
EOF
t_eq "$(stat_store ssd_reads)" "$reads0" "ssd_reads after a buffered (stdio-like) scan of $NH heads"
t_eq "$(stat_store promotions)" "$promo0" "promotions caused by a buffered header scan"
t_log "header scan: $NH heads, $nssd SSD-resident, no SSD reads ($(t_elapsed))"

# After a restart the heads are loaded once (one SSD read each); the next
# scan is served from memory again.
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=512M"
scan() {
	python3 - "$M/h" "$NH" <<'EOF'
import os, sys
for i in range(int(sys.argv[2])):
    fd = os.open('%s/%d.kv' % (sys.argv[1], i), os.O_RDONLY)
    assert len(os.read(fd, 52)) == 52
    os.close(fd)
EOF
}
scan
t_eq "$(stat_store head_loads)" "$NH" "head loads of the first scan after the restart"
reads0=$(stat_store ssd_reads)
scan
t_eq "$(stat_store ssd_reads)" "$reads0" "ssd_reads of the second scan after the restart"
t_eq "$(stat_store promotions)" 0 "promotions by head scans"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested

# --- write_policy=back ------------------------------------------------------------
S2=$T_DIR/state2
D2=$T_DIR/ssd2
mkdir -p "$D2"
kvfs_mount "$M" "$S2" "mem=64M,ssd=$D2,ssd_size=128M,write_policy=back"
for i in 1 2 3; do
	cp "$T_DIR/ref$i" "$M/b$i.kv"
done
sleep 1.5	# the flusher wakes every second: it must not write these
for i in 1 2 3; do
	t_eq "$(tier "$M/b$i.kv")" memory "tier of b$i.kv under write_policy=back"
done
t_eq "$(stat_store flushes)" 0 "flushes under write_policy=back"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
grep -q "wrote 3 memory-only files to the SSD at unmount" "${T_LOG[$M]}" ||
	t_fail "the clean unmount did not write the 3 files out: $(tail -n 5 "${T_LOG[$M]}")"
kvfs_mount "$M" "$S2" "mem=64M,ssd=$D2,ssd_size=128M,write_policy=back"
for i in 1 2 3; do
	t_eq "$(tier "$M/b$i.kv")" ssd "tier of b$i.kv after the restart"
	t_cmp "$T_DIR/ref$i" "$M/b$i.kv"
done
# More than memory holds: cold files are written out to make room.
for ((i = 8; i <= 16; i++)); do
	cp "$T_DIR/ref$i" "$M/b$i.kv"
done
(($(stat_store flushes) > 0)) || t_fail "no flushes under write_policy=back after writing 72 MiB more into mem=64M"
for i in 1 2 3 8 9 10 11 12 13 14 15 16; do
	t_cmp "$T_DIR/ref$i" "$M/b$i.kv"
done
rm "$M"/b{8..16}.kv	# room in memory for what follows
t_log "write_policy=back: written out at unmount and under memory pressure ($(t_elapsed))"

# --- fsync under write_policy=back, then SIGKILL ----------------------------------
"$IT/pattern" 201 5M >"$T_DIR/sync"
"$IT/pattern" 202 5M >"$T_DIR/nosync"
python3 - "$T_DIR/sync" "$M/synced.kv" <<'EOF'
import os, sys
data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as f:
    f.write(data)
# Published at close: fsync makes the published entry durable.
fd = os.open(sys.argv[2], os.O_RDONLY)
os.fsync(fd)
os.close(fd)
EOF
# The usual safe write: fsync before close.  The file is not an entry until
# it is published at close, so that close returns once it is durable.
"$IT/pattern" 203 3M >"$T_DIR/sync2"
python3 - "$T_DIR/sync2" "$M/synced2.kv" <<'EOF'
import os, sys
data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
EOF
cp "$T_DIR/nosync" "$M/unsynced.kv"
t_eq "$(tier "$M/synced.kv")" memory+ssd "tier of the fsynced file"
t_eq "$(tier "$M/synced2.kv")" memory+ssd "tier of the file fsynced before its close"
t_eq "$(tier "$M/unsynced.kv")" memory "tier of the file not fsynced"
pid=${T_PID[$M]}
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
unset 'T_PID[$M]'
fusermount3 -u "$M" 2>/dev/null || fusermount3 -u -z "$M"
kvfs_mount "$M" "$S2" "mem=64M,ssd=$D2,ssd_size=128M,write_policy=back"
t_cmp "$T_DIR/sync" "$M/synced.kv"
t_cmp "$T_DIR/sync2" "$M/synced2.kv"
# Gone (its row dropped at start, or never committed) or whole, never torn.
if [[ -e $M/unsynced.kv ]]; then
	t_cmp "$T_DIR/nosync" "$M/unsynced.kv"
fi
for i in 1 2 3; do
	t_cmp "$T_DIR/ref$i" "$M/b$i.kv"	# stored before the kill
done
t_fsop ENOENT stat "$M/b8.kv"
t_log "fsync: durable across SIGKILL ($(t_elapsed))"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
