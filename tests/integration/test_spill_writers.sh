#!/usr/bin/env bash
# test_spill_writers.sh - issue 12's "memory full" promise: a writer that
# outruns the SSD is slowed, not failed.  With an SSD tier and mem=64M,
# 5x mem= is written as 8 MiB files (plain open, write, close) by one
# writer, then by 4 writers at once, then 4 writers each write files of
# 24 MiB (just under mem=/2; 4 of them open at once is more than the
# daemon's whole tmpfs).  Every write and close must succeed (no ENOSPC:
# the SSD has room), every file reads back byte-equal, and the store holds
# every one of them.  In the passthrough mode every one of those writable
# opens was bound (io.opens_passthrough; none fell back to the daemon):
# the kernel wrote the bytes, and the daemon made room before each open
# (file.c, "Backpressure").
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern

M=$T_DIR/mnt
mkdir -p "$T_DIR/ssd"
kvfs_mount "$M" "$T_DIR/state" "mem=64M,ssd=$T_DIR/ssd,ssd_size=2G"
t_require_kvfs_mount "$M"
pt=$(t_stat "$M" io passthrough)
t_log "passthrough: $pt"

# write_files DIR SEED0 N SIZE: N files DIR/fK.kv of SIZE bytes, stream
# SEED0 + K each, one after the other; prints one line per failed file.
write_files() {
	local d=$1 s0=$2 n=$3 size=$4 k err
	mkdir -p "$d"
	for ((k = 0; k < n; k++)); do
		err=$("$IT/pattern" $((s0 + k)) "$size" 2>&1 >"$d/f$k.kv") ||
			echo "$d/f$k.kv: ${err:-pattern failed}"
	done
}

# check_files DIR SEED0 N SIZE: every file reads back as written.
check_files() {
	local d=$1 s0=$2 n=$3 size=$4 k
	for ((k = 0; k < n; k++)); do
		cmp -s "$d/f$k.kv" <("$IT/pattern" $((s0 + k)) "$size") ||
			t_fail "$d/f$k.kv does not read back as written"
	done
}

# round NAME WRITERS FILES SIZE: WRITERS processes at once, FILES files of
# SIZE each; fails on any write error and, with passthrough, on any
# writable open the daemon served.
round() {
	local name=$1 nw=$2 nf=$3 size=$4 w pt0 sv0 pt1 sv1 errs
	local pids=()
	pt0=$(t_stat "$M" io opens_passthrough)
	sv0=$(t_stat "$M" io opens_served)
	for ((w = 0; w < nw; w++)); do
		write_files "$M/$name/w$w" $((w * 1000)) "$nf" "$size" >"$T_DIR/$name.$w.err" &
		pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w"; done
	errs=$(cat "$T_DIR/$name".*.err)
	[[ -z $errs ]] || t_fail "$name: writes failed with the SSD tier's room left: $(head -3 <<<"$errs")"
	pt1=$(t_stat "$M" io opens_passthrough)
	sv1=$(t_stat "$M" io opens_served)
	t_log "$name: $((nw * nf)) files of $size, bound $((pt1 - pt0)), served $((sv1 - sv0)), opens that waited for room $(t_stat "$M" io writer_waits) ($(t_stat "$M" io writer_wait_ms) ms in all) ($(t_elapsed))"
	if [[ $pt == True ]]; then
		t_eq $((pt1 - pt0)) $((nw * nf)) "$name: writable opens bound"
		t_eq $((sv1 - sv0)) 0 "$name: writable opens served by the daemon"
	fi
}

round one 1 40 8M
round four 4 10 8M
round big 4 4 24M
t_wait_flushed "$M"
(($(t_stat "$M" store flushes) >= 96)) ||
	t_fail "the store flushed $(t_stat "$M" store flushes) files of 96"
check_files "$M/one/w0" 0 40 8M
for ((w = 0; w < 4; w++)); do
	check_files "$M/four/w$w" $((w * 1000)) 10 8M
done
for ((w = 0; w < 4; w++)); do
	check_files "$M/big/w$w" $((w * 1000)) 4 24M
done
for f in "$M"/one/w0/f0.kv "$M"/big/w3/f3.kv; do
	tier=$(t_xattr "$f" user.kvfs.tier)
	[[ $tier == ssd || $tier == memory+ssd ]] || t_fail "$f is not stored (tier $tier)"
done
t_eq "$(t_stat "$M" io enospc)" 0 "io.enospc"
kvfs_alive "$M"
kvfs_umount "$M"
t_log "done ($(t_elapsed))"
