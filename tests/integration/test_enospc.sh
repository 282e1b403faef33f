#!/usr/bin/env bash
# test_enospc.sh - a full memory tier: with mem=64M, writing 8 MiB files fails
# with ENOSPC ("No space left on device") after about 64 MiB; the files stored
# before are intact; after deleting one, writing works again.  The daemon keeps
# running throughout.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern

M=$T_DIR/mnt
mem=$((64 << 20))
fsz=$((8 << 20))
kvfs_mount "$M" "$T_DIR/state" mem=64M
t_require_kvfs_mount "$M"

full=0
stored=()
for ((i = 1; i <= 16; i++)); do
	"$IT/pattern" "$i" "$fsz" >"$T_DIR/ref$i"
	if dd if="$T_DIR/ref$i" of="$M/f$i" bs=1M status=none 2>"$T_DIR/dd.err"; then
		stored+=("$i")
		continue
	fi
	grep -q 'No space left on device' "$T_DIR/dd.err" ||
		t_fail "writing f$i: expected dd to fail with 'No space left on device', got: $(cat "$T_DIR/dd.err")"
	full=$i
	break
done
((full > 0)) || t_fail "wrote 16 x 8 MiB = 128 MiB into mem=64M without ENOSPC"
t_log "ENOSPC at file $full after ${#stored[@]} complete files"
kvfs_alive "$M"
((${#stored[@]} * fsz >= mem * 3 / 4)) ||
	t_fail "only ${#stored[@]} x 8 MiB files fit in mem=64M before ENOSPC (expected at least 48 MiB)"
((${#stored[@]} * fsz <= mem)) ||
	t_fail "${#stored[@]} x 8 MiB files stored in mem=64M"
avail=$(t_statfs "$M" avail)
((avail < fsz)) || t_fail "df reports $avail bytes available after ENOSPC writing an 8 MiB file"

for i in "${stored[@]}"; do
	t_eq "$(t_size "$M/f$i")" "$fsz" "size of f$i after ENOSPC"
	cmp "$T_DIR/ref$i" "$M/f$i" || t_fail "f$i changed after ENOSPC"
done
# The file that hit ENOSPC holds at most what was written, and its prefix is right.
if [[ -e $M/f$full ]]; then
	part=$(t_size "$M/f$full")
	((part < fsz)) || t_fail "f$full (the write that failed) has size $part"
	cmp -n "$part" "$T_DIR/ref$full" "$M/f$full" || t_fail "the stored prefix of f$full is wrong"
	rm "$M/f$full"
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

# Fill it again: ENOSPC comes back, cleanly, and nothing else is lost.
again=0
for ((j = 1; j <= 3; j++)); do
	dd if="$T_DIR/ref1" of="$M/more$j" bs=1M status=none 2>"$T_DIR/dd.err" || { again=$j; break; }
done
((again > 0)) || t_fail "wrote 3 more 8 MiB files into a full mem=64M"
grep -q 'No space left on device' "$T_DIR/dd.err" || t_fail "second ENOSPC: $(cat "$T_DIR/dd.err")"
for i in "${stored[@]:1}"; do
	cmp "$T_DIR/ref$i" "$M/f$i" || t_fail "f$i changed after the second ENOSPC"
done
cmp "$T_DIR/ref$full" "$M/again" || t_fail "'again' changed after the second ENOSPC"
rm -f "$M"/more*
kvfs_alive "$M"
kvfs_umount "$M"
