#!/usr/bin/env bash
# test_inplace.sh - ds4's hit path: a 48-byte header rewrite in place of a
# 1 GiB published file (dd conv=notrunc), then a full comparison against a
# reference copy on local disk that got the same rewrite, and user.kvfs.crc32c
# of the new content.  Timing is not asserted here (that is make bench).
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern crc32c
t_require_cmd getfattr

size=$((1 << 30))
avail=$(df -P -B1 "$T_DIR" | awk 'NR == 2 { print $4 }')
((avail > 3 * size)) || t_skip "$T_DIR has less than 3 GiB free for the 1 GiB reference copy"

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=1200M
t_require_kvfs_mount "$M"

REF=$T_DIR/ref
"$IT/pattern" 11 "$size" >"$REF"
dd if="$REF" of="$M/big.kv" bs=1M status=none
t_log "wrote 1 GiB ($(t_elapsed))"
t_eq "$(t_size "$M/big.kv")" "$size" "size of big.kv"
crc0=$("$IT/crc32c" "$REF")
t_eq "$(t_xattr "$M/big.kv" user.kvfs.crc32c)" "$crc0" "user.kvfs.crc32c after writing 1 GiB"

# rewrite REF and big.kv the same way: 48 bytes at OFFSET (dd, O_WRONLY, no truncation)
rewrite() {
	local off=$1 hdr=$2 f
	((${#hdr} == 48)) || t_fail "rewrite: header must be 48 bytes, is ${#hdr}"
	for f in "$REF" "$M/big.kv"; do
		printf '%s' "$hdr" | dd of="$f" bs=48 count=1 seek="$off" oflag=seek_bytes conv=notrunc status=none
	done
}

rewrite 0 "KVHDR-v1 hits=000001 ts=1700000000 tokens=012345"
t_eq "$(t_size "$M/big.kv")" "$size" "size of big.kv after the 48-byte rewrite"
head -c 4096 "$M/big.kv" | cmp - <(head -c 4096 "$REF") || t_fail "first 4 KiB differ after the rewrite"
cmp "$REF" "$M/big.kv" || t_fail "big.kv differs from the reference after the rewrite at offset 0"
t_log "compared 1 GiB ($(t_elapsed))"
crc1=$("$IT/crc32c" "$REF")
t_ne "$crc1" "$crc0" "reference checksum after the rewrite"
t_eq "$(t_xattr "$M/big.kv" user.kvfs.crc32c)" "$crc1" "user.kvfs.crc32c after the rewrite at offset 0"

# A second rewrite, unaligned, in the middle; then one over the last 48 bytes.
rewrite $((size / 2 + 4093)) "KVHDR-v1 hits=000002 ts=1700000001 tokens=765432"
rewrite $((size - 48)) "trailer-rewritten-trailer-rewritten-trailer-rewr"
t_eq "$(t_size "$M/big.kv")" "$size" "size of big.kv after the rewrites in the middle and at the end"
cmp "$REF" "$M/big.kv" || t_fail "big.kv differs from the reference after the rewrites in the middle and at the end"
crc2=$("$IT/crc32c" "$REF")
t_eq "$(t_xattr "$M/big.kv" user.kvfs.crc32c)" "$crc2" "user.kvfs.crc32c after the rewrites in the middle and at the end"

# The r+b pattern: open O_RDWR (bash <>, no truncation) and rewrite the head.
hdr="KVHDR-v1 hits=000003 ts=1700000002 tokens=111111"
for f in "$REF" "$M/big.kv"; do
	exec 4<>"$f"
	printf '%s' "$hdr" >&4
	exec 4>&-
done
t_eq "$(t_size "$M/big.kv")" "$size" "size of big.kv after the O_RDWR rewrite"
cmp "$REF" "$M/big.kv" || t_fail "big.kv differs from the reference after the O_RDWR rewrite"
t_eq "$(t_xattr "$M/big.kv" user.kvfs.crc32c)" "$("$IT/crc32c" "$REF")" "user.kvfs.crc32c after the O_RDWR rewrite"
kvfs_alive "$M"
kvfs_umount "$M"
t_log "done ($(t_elapsed))"
