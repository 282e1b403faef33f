#!/usr/bin/env bash
# test_concurrency.sh - 4 writer and 4 reader processes on 200 self-checking
# files published by rename (stress.c): zero torn, short or stale reads, and
# all 200 files present with the last round's content at the end, also as seen
# through a second look with real tools after the writers are gone.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper stress

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=256M
t_require_kvfs_mount "$M"
mkdir "$M/kv"
rounds=3
[[ -n ${KVFS_SOAK:-} ]] && rounds=30
"$IT/stress" "$M/kv" 200 4 4 "$rounds" || t_fail "stress: see the FAIL lines above"
kvfs_alive "$M"
t_eq "$(ls "$M/kv" | grep -c '^f')" 200 "files listed by ls after the run"
t_eq "$(ls -A "$M/kv" | grep -vc '^f' || true)" 0 "temp files left after the run"
kvfs_umount "$M"
