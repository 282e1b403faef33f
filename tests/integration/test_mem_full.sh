#!/usr/bin/env bash
# test_mem_full.sh - the memory tier is the daemon's own tmpfs (backing.h):
# a full /dev/shm, where the old shared arena lived and where every other
# program's POSIX shared memory lives, takes nothing from it.  In a private
# mount namespace with a 1 GiB tmpfs on /dev/shm, filled to the last
# block by another file: kvfs with mem=800M takes 500 MiB, reads them back
# and says where its memory is; a write that cannot fit with no SSD and
# nothing to evict fails with ENOSPC and the daemon lives.
if [[ -z ${KVFS_SHM_NS:-} ]]; then
	command -v unshare >/dev/null || { echo "SKIP: unshare(1) is missing"; exit 77; }
	KVFS_SHM_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern
mount -t tmpfs -o size=1G kvfs-test-shm /dev/shm ||
	t_skip "cannot mount a tmpfs on /dev/shm in a private mount namespace"
left=$(($(stat -f -c '%a * %S' /dev/shm) >> 20))
fallocate -l "${left}M" /dev/shm/filler
(($(stat -f -c '%a' /dev/shm) == 0)) || t_fail "could not fill /dev/shm"

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" "mem=800M"
t_require_kvfs_mount "$M"
where=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory_tier"])' \
	"$M/.kvfs/stats.json")
[[ $where == *tmpfs* ]] || t_skip "the memory tier is $where (no tmpfs of its own: not root?)"
"$IT/pattern" 7 500M >"$T_DIR/big.ref"
cp "$T_DIR/big.ref" "$M/big.kv" || t_fail "500 MiB into mem=800M with /dev/shm full"
t_cmp "$M/big.kv" "$T_DIR/big.ref"
# 800M - 500M leaves no room for 800M more, even in the headroom a bound
# writer may use (mem= / 2: the kernel's writes cannot wait for the
# daemon): the first file is open, so nothing can be evicted.
exec 7<"$M/big.kv"
rc=0
err=$(dd if=/dev/zero of="$M/more.kv" bs=1M count=800 2>&1) || rc=$?
((rc != 0)) || t_fail "800 MiB more went into mem=800M holding 500 MiB (open)"
[[ $err == *"No space left on device"* ]] || t_fail "dd into a full memory tier said: $err"
exec 7<&-
kvfs_alive "$M"
t_cmp "$M/big.kv" "$T_DIR/big.ref"
kvfs_umount "$M"
t_log "done ($(t_elapsed))"
