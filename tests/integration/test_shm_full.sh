#!/usr/bin/env bash
# test_shm_full.sh - a full /dev/shm (the tmpfs that holds the shared
# arena) costs writes ENOSPC, never the daemon.  The arena file is sparse
# until the prefault has passed; before, a page tmpfs had no room for was
# SIGBUS in the daemon at the write that touched it, and the mount died.
# In a private mount namespace with a 1 GiB tmpfs on /dev/shm:
#   - prefault=0, 100 MiB written, then /dev/shm filled by another file:
#     a 500 MiB write fails with ENOSPC, the daemon lives, the first file
#     reads back, memory_unbacked_bytes counts the refused pages; once the
#     filler is gone, a 200 MiB write succeeds;
#   - prefault=1: the prefault allocates the arena's pages, so a filler
#     taking the rest of /dev/shm afterwards cannot hurt: 700 MiB go in.
if [[ -z ${KVFS_SHM_NS:-} ]]; then
	command -v unshare >/dev/null || { echo "SKIP: unshare(1) is missing"; exit 77; }
	KVFS_SHM_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern
mount -t tmpfs -o size=1G kvfs-test-shm /dev/shm ||
	t_skip "cannot mount a tmpfs on /dev/shm in a private mount namespace"

M=$T_DIR/mnt
"$IT/pattern" 7 100M >"$T_DIR/first.ref"

# --- prefault=0: pages are allocated as they are used -----------------------
kvfs_mount "$M" "$T_DIR/state" "mem=800M,prefault=0"
t_require_kvfs_mount "$M"
cp "$T_DIR/first.ref" "$M/first.kv"
fallocate -l 600M /dev/shm/filler
rc=0
err=$(dd if=/dev/zero of="$M/big.kv" bs=1M count=500 2>&1) || rc=$?
((rc != 0)) || t_fail "500 MiB went into a memory tier whose /dev/shm is full"
[[ $err == *"No space left on device"* ]] || t_fail "dd into a full /dev/shm said: $err"
kvfs_alive "$M"
t_cmp "$M/first.kv" "$T_DIR/first.ref"
(($(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory_unbacked_bytes"])' \
	"$M/.kvfs/stats.json") > 0)) || t_fail "memory_unbacked_bytes did not count the refused pages"
grep -q "has no room for the memory tier's pages" "${T_LOG[$M]}" ||
	t_fail "the daemon did not say why writes fail: $(cat "${T_LOG[$M]}")"
rm -f "$M/big.kv" /dev/shm/filler
dd if=/dev/zero of="$M/after.kv" bs=1M count=200 status=none ||
	t_fail "a 200 MiB write after /dev/shm had room again"
t_eq "$(t_size "$M/after.kv")" $((200 << 20)) "size of the file written after"
kvfs_umount "$M"
t_log "prefault=0: ENOSPC, daemon alive ($(t_elapsed))"

# --- prefault=1: the arena's pages are taken before anyone else can ---------
rm -rf "$T_DIR/state"
kvfs_mount "$M" "$T_DIR/state" "mem=800M,prefault=1"
t_require_kvfs_mount "$M"
for ((i = 0; i < 200; i++)); do
	(($(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory_prefaulted_bytes"])' \
		"$M/.kvfs/stats.json") == 800 << 20)) && break
	sleep 0.1
done
left=$(($(stat -f -c '%a * %S' /dev/shm) >> 20))
((left > 0)) && fallocate -l "${left}M" /dev/shm/filler # all that is left
dd if=/dev/zero of="$M/big.kv" bs=1M count=700 status=none ||
	t_fail "700 MiB into a prefaulted arena with the rest of /dev/shm taken"
kvfs_alive "$M"
kvfs_umount "$M"
t_log "done ($(t_elapsed))"
