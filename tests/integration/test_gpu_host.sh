#!/usr/bin/env bash
# test_gpu_host.sh - libkvfs-gpu's host backend on a real mount, on both of
# its paths: the fallback (pwrite/pread: what a daemon-served open gets) and
# the mapped path, forced with KVFS_GPU_MAP=1 (on daemon-served opens: mmap
# of the kvfs fd through the page cache, msync before a write returns),
# which is the code device memory takes on passthrough opens; then the
# default, where host memory always goes by pwritev/preadv (on a
# passthrough mount: no READ or WRITE request reaches the daemon).  In each: 1,000
# scattered pages read back with read(2) (cmp, checksum), write(2) then a
# library read, library and POSIX writes mixed on one file, asynchronous
# transfers, a file grown by odd-sized writes with reads across and past
# EOF, and one file transferred repeatedly (mapped and registered once).
# Then the counted fallback for a file outside kvfs, an O_WRONLY descriptor
# (which cannot be mapped), the Python module, and arena_group= (obsolete:
# accepted, warned about; no shared arena file exists).
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper gpu_io pattern crc32c
t_require_cmd cmp getfattr

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state"
t_require_kvfs_mount "$M"

# ops: "read write" request counts of the daemon so far.
ops() { t_requests "$M" read write; }

# What reading the counters itself costs (READs of stats.json), taken off.
read -r ra _ < <(ops)
read -r rb _ < <(ops)
rstat=$((rb - ra))

for mode in fallback mapped default; do
	case $mode in
	mapped) export KVFS_GPU_MAP=1 ;;
	fallback) export KVFS_GPU_MAP=0 ;;
	default) unset KVFS_GPU_MAP; export GPU_IO_PATH=fallback ;;
	esac
	D=$M/$mode
	mkdir "$D"
	# 1,000 pages of 16 KiB, scattered in memory, 10 per pwritev.
	read -r r0 w0 < <(ops)
	"$IT/gpu_io" write "$D/pages.kv" 21 1000 16K 10 >/dev/null
	read -r r1 w1 < <(ops)
	if [[ $mode == default && $(t_stat "$M" io passthrough) == True ]]; then
		t_eq "$((w1 - w0))" 0 "WRITE requests for the library's 16,000 KiB (host memory, passthrough)"
	fi
	"$IT/pattern" 21 16000K >"$T_DIR/ref"
	t_eq "$(t_size "$D/pages.kv")" $((16000 << 10)) "size after 1,000 pages ($mode)"
	t_cmp "$D/pages.kv" "$T_DIR/ref"
	t_eq "$(t_xattr "$D/pages.kv" user.kvfs.crc32c)" "$("$IT/crc32c" "$T_DIR/ref")" \
		"user.kvfs.crc32c of the library's file ($mode)"
	read -r r0 w0 < <(ops)
	"$IT/gpu_io" read "$D/pages.kv" 21 16000K 16K >/dev/null
	read -r r1 w1 < <(ops)
	if [[ $mode == default && $(t_stat "$M" io passthrough) == True ]]; then
		t_eq "$((r1 - r0 - rstat))" 0 "READ requests for the library's read (host memory, passthrough)"
		t_log "default path, passthrough: no READ or WRITE request for the library's transfers"
	fi

	# write(2), then the library reads it.
	"$IT/pattern" 22 5M | dd of="$D/posix.kv" bs=1M status=none
	"$IT/gpu_io" read "$D/posix.kv" 22 5M 64K >/dev/null

	# Both on one file, then cmp.
	"$IT/gpu_io" mixed "$D/mixed.kv" 23 >/dev/null
	"$IT/pattern" 23 9M >"$T_DIR/ref"
	t_cmp "$D/mixed.kv" "$T_DIR/ref"

	# Transfers in flight at once.
	"$IT/gpu_io" async "$D/async.kv" 24 64 64K >/dev/null
	"$IT/pattern" 24 4M >"$T_DIR/ref"
	t_cmp "$D/async.kv" "$T_DIR/ref"

	# Growing by odd sizes, holes, reads past EOF short (gpu_io checks).
	"$IT/gpu_io" grow "$D/grow.kv" 25 >/dev/null

	# The same file, 20 rounds on new descriptors: one mapping, one
	# registration (gpu_io checks under KVFS_GPU_MAP=1).
	out=$("$IT/gpu_io" repeat "$D/repeat.kv" 26 3000000 20)
	if [[ $mode == mapped ]]; then
		[[ $out == *" maps=1 registrations=1 "* ]] || t_fail "repeat ($mode): $out"
	else
		[[ $out == *" maps=0 registrations=0 "* ]] || t_fail "repeat ($mode): $out"
	fi
	"$IT/pattern" 45 3000000 >"$T_DIR/ref"	# round 19 wrote seed 26 + 19
	t_cmp "$D/repeat.kv" "$T_DIR/ref"
	t_log "$mode path: pages, posix, mixed, async, grow, repeat ($(t_elapsed))"
done
unset GPU_IO_PATH

# A file outside kvfs: same calls, through pwrite/pread, counted (even
# with KVFS_GPU_MAP=1: only kvfs files are mapped).
"$IT/gpu_io" fallback "$T_DIR/outside.bin" 25 3M >/dev/null
"$IT/pattern" 25 3M >"$T_DIR/ref"
t_cmp "$T_DIR/outside.bin" "$T_DIR/ref"

# An O_WRONLY descriptor cannot be mapped (mmap needs read access): the
# write falls back, and is right.
out=$("$IT/gpu_io" fallback "fd:3" 27 2M 3>"$M/wronly.kv" 2>&1) && t_fail "O_WRONLY: $out"
[[ $out == *"kvfs_gpu_pread (fallback)"* ]] || t_fail "O_WRONLY descriptor: $out"
"$IT/pattern" 27 2M >"$T_DIR/ref"
t_cmp "$M/wronly.kv" "$T_DIR/ref"
export KVFS_GPU_MAP=0

# The Python module, with bytearrays standing in for tensors.  An
# AddressSanitizer build of the library (make asan) needs its runtime first.
preload=
if [[ $(ldd "$BUILD/libkvfs_gpu.so" 2>/dev/null) == *libasan* ]]; then
	preload=$(${CC:-cc} -print-file-name=libasan.so)
fi
if command -v python3 >/dev/null; then
	for map in 0 1; do
		LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 KVFS_GPU_MAP=$map \
		KVFS_GPU_LIB=$BUILD/libkvfs_gpu.so PYTHONPATH=$(dirname "$0")/../../gpu/python \
		KVFS_GPU_BACKEND=host python3 - "$M" "$map" <<'PY' || t_fail "the Python module (KVFS_GPU_MAP=$map)"
import os, sys, kvfs_gpu
mnt, mapped = sys.argv[1], sys.argv[2] == "1"
with kvfs_gpu.Context(mnt) as g:
    assert g.backend == "host", g.backend
    pages = [bytearray(os.urandom(16384)) for _ in range(8)]
    fd = os.open(mnt + "/py.kv", os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
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
    if mapped:
        assert s["fallback"] == 0 and s["mapped"] == 4 and s["maps"] >= 1, s
        assert s["registrations"] >= s["maps"], s
    else:
        assert s["mapped"] == 0 and s["fallback"] == 4 and s["maps"] == 0, s
print("python ok")
PY
	done
	# A context that keeps a file mapped across closes: a rewrite in place
	# through the cached mapping, on a new descriptor, is the file's content
	# and checksum as soon as that descriptor is closed, not only when the
	# mapping goes (kvfs_gpu_close); once the file is unlinked, the next new
	# mapping drops its mapping and its memory is free again.
	LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 KVFS_GPU_MAP=1 \
	KVFS_GPU_LIB=$BUILD/libkvfs_gpu.so PYTHONPATH=$(dirname "$0")/../../gpu/python \
	KVFS_GPU_BACKEND=host python3 - "$M" "$IT/crc32c" <<'PY' || t_fail "a rewrite through a cached mapping"
import os, subprocess, sys, time, kvfs_gpu
mnt, crc32c = sys.argv[1], sys.argv[2]
path = mnt + "/cached.kv"
def xattr():
    return subprocess.run(["getfattr", "--only-values", "-n", "user.kvfs.crc32c", path],
                          capture_output=True, text=True, check=True).stdout.strip()
def want(data):
    return subprocess.run([crc32c, "/dev/stdin"], input=data, capture_output=True,
                          check=True).stdout.decode().strip()
with kvfs_gpu.Context(mnt) as g:
    for rnd in range(3):
        data = bytearray(os.urandom((3 << 20) + 5))
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        assert g.pwrite(fd, data, 0) == len(data)
        os.close(fd)
        with open(path, "rb") as f:
            assert f.read() == data, "round %d: content" % rnd
        assert xattr() == want(bytes(data)), "round %d: checksum %s" % (rnd, xattr())
    s = g.stats()
    assert s["maps"] == 1 and s["mapped"] == 3, s
    # Unlinked, it is still mapped; the next new mapping drops it, and its
    # memory comes back while the context lives on (where the library may
    # read /proc/self/map_files: root here; else it waits for the bounds).
    can = os.geteuid() == 0
    os.unlink(path)
    st = os.statvfs(mnt)
    free0 = st.f_bfree
    fd = os.open(mnt + "/other.kv", os.O_CREAT | os.O_RDWR, 0o644)
    assert g.pwrite(fd, bytearray(4096), 0) == 4096
    os.close(fd)
    # other.kv was given pages at its open for a file as large as the
    # last one (3 MiB); they go back at its release, which the kernel
    # sends after close(2) returns: looked at for up to 5 s.
    for _ in range(500):
        st = os.statvfs(mnt)
        if st.f_bfree * st.f_frsize >= free0 * st.f_frsize + (3 << 20) - 4096:
            break
        time.sleep(0.01)
    assert not can or st.f_bfree * st.f_frsize >= free0 * st.f_frsize + (3 << 20) - 4096, \
        (free0, st.f_bfree, st.f_frsize)
    s = g.stats()
    assert s["unlinked"] == (1 if can else 0) and s["maps"] == 2, s
    os.unlink(mnt + "/other.kv")
print("cached mapping ok")
PY
else
	t_log "python3 missing: the Python module was not tested"
fi

# arena_group= is obsolete: it mounts, says so, and shares nothing.
grp=$(id -gn)
M2=$T_DIR/mnt2
shm_before=$(ls /dev/shm | grep -c '^kvfs-.*\.arena$' || true)
kvfs_mount "$M2" "$T_DIR/state2" "mem=16M,arena_group=$grp"
grep -q "arena_group=$grp no longer does anything" "${T_LOG[$M2]}" ||
	t_fail "no warning about arena_group=: $(cat "${T_LOG[$M2]}")"
t_eq "$(ls /dev/shm | grep -c '^kvfs-.*\.arena$' || true)" "$shm_before" \
	"kvfs arena files in /dev/shm with arena_group="
echo ok >"$M2/f"
t_eq "$(cat "$M2/f")" ok "a file on the mount with arena_group="
kvfs_umount "$M2"

# Deleting the files gives their space back.
rm -rf "$M"/*.kv "$M"/fallback "$M"/mapped "$M"/default
t_eq "$(t_statfs "$M" free)" "$(t_statfs "$M" total)" "free space after deleting every file"
kvfs_umount "$M"
