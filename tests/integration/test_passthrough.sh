#!/usr/bin/env bash
# test_passthrough.sh - what reaches the daemon in each I/O mode, counted by
# its own per-operation counters (.kvfs/stats.json, fuse_ops):
#   - passthrough (root, kernel 6.9+): 64 MiB written with dd in 1 MiB
#     blocks and read back send no READ and no WRITE request; both opens
#     are bound (io.opens_passthrough); the kernel asks for
#     security.capability once for the file, not before each of its 64
#     writes (FUSE_HANDLE_KILLPRIV_V2 makes the mount SB_NOSEC: fails
#     without it, 64 GETXATTRs);
#   - daemon-served (passthrough=0, the second run of tests/run.sh, or a
#     kernel or process that cannot have passthrough): the same bytes go
#     through READ and WRITE requests and no open is bound.
# Both ways the bytes read back equal what was written.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern
t_require_cmd python3

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=256M
t_require_kvfs_mount "$M"

# ops: "read write getxattr" request counts so far.
ops() { t_requests "$M" read write getxattr; }
io() { t_stat "$M" io "$1"; }

"$IT/pattern" 64 64M >"$T_DIR/ref"
# What reading the counters itself costs (READs of stats.json), taken off.
read -r ra _ _ < <(ops)
read -r rb _ _ < <(ops)
rstat=$((rb - ra))
read -r r0 w0 x0 < <(ops)
bound0=$(io opens_passthrough)
dd if="$T_DIR/ref" of="$M/p.kv" bs=1M status=none
read -r r1 w1 x1 < <(ops)
dd if="$M/p.kv" bs=1M status=none | cmp - "$T_DIR/ref" ||
	t_fail "p.kv read back differs from what was written"
read -r r2 w2 x2 < <(ops)
bound=$(($(io opens_passthrough) - bound0))

if [[ $(io passthrough) == True ]]; then
	t_eq "$((w1 - w0))" 0 "WRITE requests for 64 MiB written through a bound open"
	t_eq "$((r2 - r1 - rstat))" 0 "READ requests for 64 MiB read through a bound open"
	t_eq "$bound" 2 "bound opens (the writer's and the reader's)"
	# The stats reads between the counts add no GETXATTR; the file's first
	# write may ask once (S_NOSEC is set after that check).
	(((x1 - x0) <= 1)) ||
		t_fail "$((x1 - x0)) GETXATTR requests for 64 writes of one file (the kernel asks before every write without SB_NOSEC)"
	t_log "passthrough: 0 READ, 0 WRITE, $((x1 - x0)) GETXATTR for 64 MiB"
else
	(((w1 - w0) >= 64)) || t_fail "$((w1 - w0)) WRITE requests for 64 MiB in the daemon-served mode"
	(((r2 - r1 - rstat) >= 64)) || t_fail "$((r2 - r1 - rstat)) READ requests for 64 MiB in the daemon-served mode"
	t_eq "$bound" 0 "bound opens in the daemon-served mode"
	t_log "daemon-served: $((w1 - w0)) WRITE, $((r2 - r1 - rstat)) READ requests for 64 MiB"
fi
kvfs_umount "$M"
