#!/usr/bin/env bash
# test_ssd_evict.sh - a cache with declared bounds (DESIGN.md 3.3, 3.6):
#   - filling past ssd_size evicts the coldest unpinned files: they disappear
#     (ENOENT at stat and open), ssd_evictions counts them, the newest files
#     are intact;
#   - a pinned file survives; so does a parent named by a live child's
#     user.kvfs.parent (leaf-first), though it is the coldest file;
#   - a reader that opened a file before it was evicted reads it to the end;
#   - memory-only mode (no ssd=): filling memory evicts cold files, leaf-first
#     and never pinned ones, instead of failing with ENOSPC.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper fsop pattern
t_require_cmd python3 getfattr setfattr

M=$T_DIR/mnt
MIB=$((1 << 20))

stat_store() { t_stat "$M" store "$1"; }
wait_flushed() { t_wait_flushed "$M"; }
# ref SEED SIZE: the reference file $T_DIR/r.SEED, made once.
ref() {
	[[ -f $T_DIR/r.$1 ]] || "$IT/pattern" "$1" "$2" >"$T_DIR/r.$1"
	echo "$T_DIR/r.$1"
}
gone() {
	t_fsop ENOENT stat "$1"
	t_fsop ENOENT open "$1" rdonly
}

# --- SSD full: ssd_size=64M (4 slabs of 16 MiB), mem=16M, 4 MiB files ---------
D=$T_DIR/ssd
mkdir -p "$D"
kvfs_mount "$M" "$T_DIR/state" "mem=16M,ssd=$D,ssd_size=64M"
t_require_kvfs_mount "$M"
fsz=$((4 * MIB))
# family: parent.kv, pinned.kv, and child.kv naming parent.kv as its
# user.kvfs.parent, in $M, oldest first; the child is read once.
family() {
	cp "$(ref 1 $fsz)" "$M/parent.kv"
	cp "$(ref 2 $fsz)" "$M/pinned.kv"
	setfattr -n user.kvfs.pin -v 1 "$M/pinned.kv"
	cp "$(ref 3 $fsz)" "$M/child.kv"
	setfattr -n user.kvfs.parent -v parent.kv "$M/child.kv"
	cat "$M/child.kv" >/dev/null
}

# The parent is the coldest file of all; its child is read once (a hit is
# worth a minute under evict_policy=hybrid), so the child outlives the fill.
family
cp "$(ref 4 $fsz)" "$M/reader.kv"

# A reader opens reader.kv (the coldest unpinned file after the parent) and
# keeps it open across the fill.
mkfifo "$T_DIR/go" "$T_DIR/ready"
python3 - "$M/reader.kv" "$(ref 4 $fsz)" "$T_DIR/ready" "$T_DIR/go" >"$T_DIR/reader.out" 2>&1 <<'EOF' &
import sys
path, ref, ready, go = sys.argv[1:5]
want = open(ref, 'rb').read()
with open(path, 'rb', buffering=0) as f:
    first = f.read(1 << 20)
    open(ready, 'w').close()
    open(go).read()               # the fill and the eviction happen here
    got = first + f.read()
    while True:                   # read(2) may return less than asked
        more = f.read()
        if not more:
            break
        got += more
assert got == want, 'reader.kv read %d bytes, differing from the reference' % len(got)
print('reader ok')
EOF
rpid=$!
cat "$T_DIR/ready" >/dev/null

NF=24
for ((i = 1; i <= NF; i++)); do
	cp "$(ref $((100 + i)) $fsz)" "$M/f$i.kv"
done
wait_flushed
kvfs_alive "$M"
nev=$(stat_store ssd_evictions)
((nev > 0)) || t_fail "no ssd_evictions after writing $((NF * 4)) MiB into ssd_size=64M"
ngone=0
for ((i = 1; i <= NF; i++)); do
	[[ -e $M/f$i.kv ]] || ngone=$((ngone + 1))
done
((ngone >= NF - 14)) || t_fail "only $ngone of $NF files were evicted from a 64 MiB SSD tier"
gone "$M/f1.kv"
for ((i = NF - 3; i <= NF; i++)); do
	t_cmp "$(ref $((100 + i)) $fsz)" "$M/f$i.kv"
done
# Evicted files are gone from the oldest on: no older file outlived a newer one.
last_gone=0
for ((i = 1; i <= NF; i++)); do
	[[ -e $M/f$i.kv ]] || last_gone=$i
done
((last_gone == ngone)) || t_fail "evicted $ngone files, but f$last_gone is gone while an older one stayed"
t_cmp "$(ref 2 $fsz)" "$M/pinned.kv"
t_cmp "$(ref 3 $fsz)" "$M/child.kv"
t_cmp "$(ref 1 $fsz)" "$M/parent.kv"
t_log "ssd full: $nev evictions, $ngone of $NF fill files gone; pinned, child and parent kept ($(t_elapsed))"

# The open reader.kv: evicted by name now if the fill left it (an open file
# is no candidate), and still readable to the end through the open handle.
[[ -e $M/reader.kv ]] && setfattr -n user.kvfs.evict -v 1 "$M/reader.kv"
gone "$M/reader.kv"
echo go >"$T_DIR/go"
wait "$rpid" || t_fail "the reader of the evicted reader.kv failed: $(cat "$T_DIR/reader.out")"
grep -qx 'reader ok' "$T_DIR/reader.out" || t_fail "reader: $(cat "$T_DIR/reader.out")"

t_eq "$(stat_store checksum_errors)" 0 "checksum_errors"
t_log "reader done ($(t_elapsed))"

# Eviction is durable: the evicted files stay gone across a restart, and
# the rest come back.  Then, under evict_policy=lru (the reads above were
# hits, each worth a minute under hybrid), once the child is gone the
# parent is an ordinary file, evicted by a fill of the whole tier.
kvfs_umount "$M"
kvfs_mount "$M" "$T_DIR/state" "mem=16M,ssd=$D,ssd_size=64M,evict_policy=lru"
gone "$M/f1.kv"
gone "$M/reader.kv"
t_cmp "$(ref 1 $fsz)" "$M/parent.kv"
setfattr -n user.kvfs.evict -v 1 "$M/child.kv"
for ((i = NF + 1; i <= NF + 16; i++)); do
	cp "$(ref $((100 + i)) $fsz)" "$M/f$i.kv"
done
wait_flushed
gone "$M/parent.kv"
gone "$M/child.kv"
t_cmp "$(ref 2 $fsz)" "$M/pinned.kv"
t_cmp "$(ref $((100 + NF + 16)) $fsz)" "$M/f$((NF + 16)).kv"
t_log "restart and leaf-first after the child done ($(t_elapsed))"
kvfs_umount "$M"

# --- memory only: a full arena evicts, leaf-first, never pinned files ------------
M2=$T_DIR/mnt2
M_SAVE=$M
M=$M2
kvfs_mount "$M" "$T_DIR/state2" mem=32M
family
for ((i = 1; i <= 12; i++)); do
	cp "$(ref $((100 + i)) $fsz)" "$M/f$i.kv" ||
		t_fail "writing f$i.kv into a full memory-only mount failed (expected eviction)"
done
(($(stat_store memory_evictions) > 0)) || t_fail "no memory_evictions after writing 60 MiB into mem=32M"
gone "$M/f1.kv"
for i in 10 11 12; do
	t_cmp "$(ref $((100 + i)) $fsz)" "$M/f$i.kv"
done
t_cmp "$(ref 1 $fsz)" "$M/parent.kv"
t_cmp "$(ref 2 $fsz)" "$M/pinned.kv"
t_cmp "$(ref 3 $fsz)" "$M/child.kv"
t_log "memory only: $(stat_store memory_evictions) evictions; pinned, child and parent kept ($(t_elapsed))"
kvfs_umount "$M"
M=$M_SAVE
