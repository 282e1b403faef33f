#!/usr/bin/env bash
# test_gpu_host.sh - libkvfs-gpu's host backend on a real mount: 1,000
# scattered pages through the fast path read back with read(2) (cmp against a
# reference), write(2) then a fast-path read, fast-path and POSIX writes mixed
# on one file, asynchronous transfers, the counted fallback for a file outside
# kvfs, the shared arena file (mode, removal at unmount) and the Python module.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_io pattern crc32c
t_require_cmd cmp getfattr

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state"
t_require_kvfs_mount "$M"

read -r arena arena_size arena_mode < <("$IT/gpu_io" info "$M")
t_eq "$arena_mode" 600 "mode of the arena file $arena"
t_eq "$arena_size" $((256 << 20)) "size of the arena"
"$IT/gpu_io" attach "$M" >/dev/null

# 1,000 pages of 16 KiB, scattered in memory, 10 per pwritev.
"$IT/gpu_io" write "$M/pages.kv" 21 1000 16K 10
"$IT/pattern" 21 16000K >"$T_DIR/ref"
t_eq "$(t_size "$M/pages.kv")" $((16000 << 10)) "size after 1,000 fast-path pages"
t_cmp "$M/pages.kv" "$T_DIR/ref"
t_eq "$(t_xattr "$M/pages.kv" user.kvfs.crc32c)" "$("$IT/crc32c" "$T_DIR/ref")" \
	"user.kvfs.crc32c of the fast-path file"
"$IT/gpu_io" read "$M/pages.kv" 21 16000K 16K >/dev/null
t_log "1,000 pages written and read back ($(t_elapsed))"

# write(2), then the fast path reads it.
"$IT/pattern" 22 5M | dd of="$M/posix.kv" bs=1M status=none
"$IT/gpu_io" read "$M/posix.kv" 22 5M 64K >/dev/null

# Both paths on one file, then cmp.
"$IT/gpu_io" mixed "$M/mixed.kv" 23 >/dev/null
"$IT/pattern" 23 9M >"$T_DIR/ref"
t_cmp "$M/mixed.kv" "$T_DIR/ref"

# Transfers in flight at once.
"$IT/gpu_io" async "$M/async.kv" 24 64 64K >/dev/null
"$IT/pattern" 24 4M >"$T_DIR/ref"
t_cmp "$M/async.kv" "$T_DIR/ref"

# A file outside kvfs: same calls, through pwrite/pread, counted.
"$IT/gpu_io" fallback "$T_DIR/outside.bin" 25 3M >/dev/null
"$IT/pattern" 25 3M >"$T_DIR/ref"
t_cmp "$T_DIR/outside.bin" "$T_DIR/ref"

# A process that may not map the arena (another user, arena mode 0600) is
# refused the fast path (EPERM) and falls back, on a descriptor opened for it
# (allow_other lets other users use the mount at all).
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
	M4=$T_DIR/mnt4
	kvfs_mount "$M4" "$T_DIR/state4" mem=16M,allow_other
	: >"$M4/shared.kv"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$IT/gpu_io" fallback fd:3 26 2M 3<>"$M4/shared.kv") ||
		t_fail "another user's transfer: $out"
	"$IT/pattern" 26 2M >"$T_DIR/ref"
	t_cmp "$M4/shared.kv" "$T_DIR/ref"
	kvfs_umount "$M4"
else
	t_log "not root or no setpriv: the refusal of another user was not tested"
fi

# The Python module, with bytearrays standing in for tensors.  An
# AddressSanitizer build of the library (make asan) needs its runtime first.
preload=
if [[ $(ldd "$BUILD/libkvfs_gpu.so" 2>/dev/null) == *libasan* ]]; then
	preload=$(${CC:-cc} -print-file-name=libasan.so)
fi
if command -v python3 >/dev/null; then
	LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 \
	KVFS_GPU_LIB=$BUILD/libkvfs_gpu.so PYTHONPATH=$(dirname "$0")/../../gpu/python \
	KVFS_GPU_BACKEND=host python3 - "$M" <<'PY' || t_fail "the Python module"
import os, sys, kvfs_gpu
mnt = sys.argv[1]
with kvfs_gpu.Context(mnt) as g:
    assert g.backend == "host", g.backend
    pages = [bytearray(os.urandom(16384)) for _ in range(8)]
    fd = os.open(mnt + "/py.kv", os.O_CREAT | os.O_WRONLY, 0o644)
    assert g.pwritev(fd, pages, 0) == 8 * 16384
    assert g.pwrite(fd, pages[0], 8 * 16384) == 16384
    os.close(fd)
    back = [bytearray(16384) for _ in range(9)]
    fd = os.open(mnt + "/py.kv", os.O_RDONLY)
    assert g.preadv(fd, back, 0) == 9 * 16384
    two = [bytearray(16384), bytearray(16384)]
    p = g.preadv_async(fd, two, 16384)
    assert p.wait() == 2 * 16384
    os.close(fd)
    assert back[:8] == pages and back[8] == pages[0] and two == pages[1:3]
    with open(mnt + "/py.kv", "rb") as f:
        assert f.read() == b"".join(pages) + pages[0]
    s = g.stats()
    assert s["fallback"] == 0 and s["fast"] == 4, s
print("python ok")
PY
else
	t_log "python3 missing: the Python module was not tested"
fi

# arena_group=: the arena is shared with a group (here the caller's own).
grp=$(id -gn)
M2=$T_DIR/mnt2
kvfs_mount "$M2" "$T_DIR/state2" "mem=16M,arena_group=$grp"
read -r arena2 _ mode2 < <("$IT/gpu_io" info "$M2")
t_eq "$mode2" 660 "mode of the arena file with arena_group="
t_eq "$(stat -c %G "$arena2")" "$grp" "group of the arena file"
kvfs_umount "$M2"
mkdir -p "$T_DIR/mnt3"
rc=0
out=$("$KVFS" "$T_DIR/mnt3" -f -o "state=$T_DIR/state3,mem=16M,arena_group=no-such-group-kvfs" 2>&1) || rc=$?
t_eq "$rc" 1 "exit status of kvfs with an unknown arena_group="
[[ $out == *"arena_group=no-such-group-kvfs is not a group"* ]] ||
	t_fail "kvfs with an unknown arena_group= said: $out"

# Deleting the files gives their space back; unmounting removes the arena.
rm -f "$M"/*.kv
t_eq "$(t_statfs "$M" free)" "$(t_statfs "$M" total)" "free space after deleting every file"
kvfs_umount "$M"
[[ ! -e $arena ]] || t_fail "the arena file $arena is still there after unmounting"
