#!/usr/bin/env bash
# test_rewrite_after_publish.sh - issue 11 item 4: an in-place header
# rewrite right after the publish of a large file does not wait for the
# background checksum; it patches the hasher's running pass instead.  The
# checksum the hasher settles on must be the CRC-32C of the bytes, checked
# against an independent implementation (crc32c helper) once the hasher is
# idle, so user.kvfs.crc32c is the hasher's value, not one computed for the
# getfattr.  Several rewrites spread over the file land behind and ahead of
# the pass; the round is repeated (at most 3 times) until at least one
# rewrite was patched into a running pass (checksums.patched_writes).
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern headprobe crc32c
t_require_cmd getfattr python3

M=$T_DIR/mnt
# The patching is the daemon's write path: passthrough writes never reach
# it (their end is checked after the rounds).
kvfs_mount "$M" "$T_DIR/state" mem=1200M,passthrough=0,hash_defer=0
t_require_kvfs_mount "$M"

size=$((512 << 20))
"$IT/pattern" 9 "$size" >"$T_DIR/src"

wait_hasher() { t_wait_zero "$M" checksums pending "the hasher's queue"; }

patched=0
for round in 1 2 3; do
	p0=$(t_stat "$M" checksums patched_writes)
	s0=$(t_stat "$M" checksums passes)
	cp "$T_DIR/src" "$M/big.kv.tmp.$round"
	mv "$M/big.kv.tmp.$round" "$M/big$round.kv"
	"$IT/headprobe" rewrite "$M/big$round.kv" 16 || t_fail "headprobe rewrite failed"
	wait_hasher
	patched=$(($(t_stat "$M" checksums patched_writes) - p0))
	# The hasher set the checksum (else the getfattr below would compute
	# it itself and prove nothing about the pass).
	(($(t_stat "$M" checksums passes) > s0)) ||
		t_fail "the hasher did not settle the checksum of big$round.kv (round $round)"
	want=$("$IT/crc32c" "$M/big$round.kv")
	t_ne "$want" "$("$IT/crc32c" "$T_DIR/src")" "checksum after the rewrites (round $round)"
	t_eq "$(t_xattr "$M/big$round.kv" user.kvfs.crc32c)" "$want" \
		"user.kvfs.crc32c after 16 rewrites right after publish (round $round, $patched patched into the pass)"
	t_eq "$(t_size "$M/big$round.kv")" "$size" "size after the rewrites (round $round)"
	t_log "round $round: $patched of 16 rewrites patched into the hasher's pass"
	((patched > 0)) && break
	rm -f "$M/big$round.kv"
done
((patched > 0)) || t_fail "in 3 rounds no rewrite landed while the hasher's pass ran"
kvfs_umount "$M"

# With passthrough (where this kernel and user have it) the rewrites go to
# the backing file; the writer's close and release settle the checksum.
kvfs_mount "$M" "$T_DIR/state2" mem=1200M
if [[ $(t_stat "$M" io passthrough) == True ]]; then
	cp "$T_DIR/src" "$M/big.kv.tmp"
	mv "$M/big.kv.tmp" "$M/big.kv"
	"$IT/headprobe" rewrite "$M/big.kv" 16 || t_fail "headprobe rewrite failed (passthrough)"
	wait_hasher
	want=$("$IT/crc32c" "$M/big.kv")
	t_ne "$want" "$("$IT/crc32c" "$T_DIR/src")" "checksum after the rewrites (passthrough)"
	t_eq "$(t_xattr "$M/big.kv" user.kvfs.crc32c)" "$want" \
		"user.kvfs.crc32c after 16 passthrough rewrites right after publish"
	t_log "passthrough: the checksum settled on the rewritten bytes"
fi
kvfs_umount "$M"
t_log "ok"
