#!/usr/bin/env bash
# test_enospc.sh - a full memory tier without an SSD tier (DESIGN.md 3.6):
# with mem=64M, writing 16 x 8 MiB files never fails: the coldest unpinned
# files are evicted (ENOENT after), memory_evictions counts them and the
# newest files are intact.  Once every stored file is pinned, writing fails
# with ENOSPC ("No space left on device") and the pinned files are intact;
# after deleting one, writing works again; filling again gives ENOSPC
# cleanly.  The daemon keeps running throughout.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper fsop pattern
t_require_cmd python3 setfattr

M=$T_DIR/mnt
mem=$((64 << 20))
fsz=$((8 << 20))
kvfs_mount "$M" "$T_DIR/state" mem=64M
t_require_kvfs_mount "$M"

mem_evictions() { t_stat "$M" store memory_evictions; }

# --- a full arena evicts the coldest files -----------------------------------------
for ((i = 1; i <= 16; i++)); do
	"$IT/pattern" "$i" "$fsz" >"$T_DIR/ref$i"
	dd if="$T_DIR/ref$i" of="$M/f$i" bs=1M status=none 2>"$T_DIR/dd.err" ||
		t_fail "writing f$i into a full memory tier: $(cat "$T_DIR/dd.err") (expected eviction, not an error)"
done
kvfs_alive "$M"
nev=$(mem_evictions)
((nev >= 8)) || t_fail "memory_evictions is $nev after writing 128 MiB into mem=64M"
stored=()
for ((i = 1; i <= 16; i++)); do
	if [[ -e $M/f$i ]]; then
		stored+=("$i")
	else
		t_fsop ENOENT stat "$M/f$i"
		t_fsop ENOENT open "$M/f$i" rdonly
	fi
done
t_log "$nev evictions; ${#stored[@]} files stay: ${stored[*]}"
((${#stored[@]} * fsz >= mem / 2)) ||
	t_fail "only ${#stored[@]} x 8 MiB files stay in mem=64M after eviction"
((${#stored[@]} * fsz <= mem)) ||
	t_fail "${#stored[@]} x 8 MiB files stored in mem=64M"
t_fsop ENOENT stat "$M/f1"
[[ ${stored[-1]} == 16 ]] || t_fail "the newest file f16 was evicted"
for i in "${stored[@]}"; do
	t_eq "$(t_size "$M/f$i")" "$fsz" "size of f$i"
	cmp "$T_DIR/ref$i" "$M/f$i" || t_fail "f$i changed after evictions"
done

# --- only pinned files left: ENOSPC ------------------------------------------------
for i in "${stored[@]}"; do
	setfattr -n user.kvfs.pin -v 1 "$M/f$i"
done
full=0
for ((j = 1; j <= 3; j++)); do
	if ! dd if="$T_DIR/ref$j" of="$M/g$j" bs=1M status=none 2>"$T_DIR/dd.err"; then
		full=$j
		break
	fi
done
((full > 0)) || t_fail "wrote 3 more 8 MiB files into mem=64M holding only pinned files"
grep -q 'No space left on device' "$T_DIR/dd.err" ||
	t_fail "writing g$full: expected dd to fail with 'No space left on device', got: $(cat "$T_DIR/dd.err")"
t_log "ENOSPC at g$full with only pinned files left"
kvfs_alive "$M"
avail=$(t_statfs "$M" avail)
((avail < fsz)) || t_fail "df reports $avail bytes available after ENOSPC writing an 8 MiB file"
for i in "${stored[@]}"; do
	t_eq "$(t_size "$M/f$i")" "$fsz" "size of pinned f$i after ENOSPC"
	cmp "$T_DIR/ref$i" "$M/f$i" || t_fail "pinned f$i changed after ENOSPC"
done
# The file that hit ENOSPC holds at most what was written, and its prefix is right.
if [[ -e $M/g$full ]]; then
	part=$(t_size "$M/g$full")
	((part < fsz)) || t_fail "g$full (the write that failed) has size $part"
	cmp -n "$part" "$T_DIR/ref$full" "$M/g$full" || t_fail "the stored prefix of g$full is wrong"
	rm "$M/g$full"
fi

# Free one file: an 8 MiB file fits again.
rm "$M/f${stored[0]}"
ok=0
for ((try = 0; try < 50; try++)); do
	if dd if="$T_DIR/ref$full" of="$M/again" bs=1M status=none 2>"$T_DIR/dd.err"; then
		ok=1
		break
	fi
	sleep 0.1	# a release may still be in flight
done
((ok)) || t_fail "writing 8 MiB after deleting an 8 MiB file: $(cat "$T_DIR/dd.err")"
cmp "$T_DIR/ref$full" "$M/again" || t_fail "the file written after freeing space differs"
setfattr -n user.kvfs.pin -v 1 "$M/again"

# Fill it again: ENOSPC comes back, cleanly, and nothing else is lost.
again=0
for ((j = 1; j <= 3; j++)); do
	dd if="$T_DIR/ref1" of="$M/more$j" bs=1M status=none 2>"$T_DIR/dd.err" || { again=$j; break; }
done
((again > 0)) || t_fail "wrote 3 more 8 MiB files into a full mem=64M of pinned files"
grep -q 'No space left on device' "$T_DIR/dd.err" || t_fail "second ENOSPC: $(cat "$T_DIR/dd.err")"
for i in "${stored[@]:1}"; do
	cmp "$T_DIR/ref$i" "$M/f$i" || t_fail "f$i changed after the second ENOSPC"
done
cmp "$T_DIR/ref$full" "$M/again" || t_fail "'again' changed after the second ENOSPC"
rm -f "$M"/more*

# Unpinned, the files are cache again: a new file evicts the coldest.
for i in "${stored[@]:1}"; do
	setfattr -x user.kvfs.pin "$M/f$i"
done
dd if="$T_DIR/ref16" of="$M/last" bs=1M status=none 2>"$T_DIR/dd.err" ||
	t_fail "writing after unpinning: $(cat "$T_DIR/dd.err")"
cmp "$T_DIR/ref16" "$M/last" || t_fail "the file written after unpinning differs"
t_fsop ENOENT stat "$M/f${stored[1]}"
cmp "$T_DIR/ref$full" "$M/again" || t_fail "the pinned 'again' was evicted"
kvfs_alive "$M"
kvfs_umount "$M"
