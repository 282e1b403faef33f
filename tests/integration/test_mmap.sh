#!/usr/bin/env bash
# test_mmap.sh - mmap of kvfs files, the way numpy.memmap, torch.load(mmap=True)
# and safetensors load a cache: shared and private read mappings of files
# opened with direct I/O (io=auto gives it to every file of 1 MiB or more),
# a shared writable mapping whose bytes read() and a restart then agree on,
# a new file written only through a mapping and published at close, a
# page-file memmap at an offset, and a file only the SSD holds.  Before
# kproto.c asked the kernel for FUSE_DIRECT_IO_ALLOW_MMAP, every shared
# mapping of a direct-I/O file failed with ENODEV.  With passthrough the
# mappings are the backing files' pages; tests/run.sh runs this both ways.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_cmd python3 getfattr

M=$T_DIR/mnt
S=$T_DIR/state
D=$T_DIR/ssd
mkdir -p "$D"
kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=256M"
t_require_kvfs_mount "$M"
# Kernels before 6.6 have no FUSE_DIRECT_IO_ALLOW_MMAP: the daemon says so.
kver=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
if ((kver < 6006)); then
	grep -q '^# kernel: shared mmap of direct-I/O files refused' "$M/.kvfs/config" ||
		t_fail "config does not say a $(uname -r) kernel refuses shared mmap of direct-I/O files"
	t_skip "kernel $(uname -r) cannot map direct-I/O FUSE files shared (6.6 can)"
fi
grep -q '^# kernel: shared mmap of direct-I/O files allowed' "$M/.kvfs/config" ||
	t_fail "config on kernel $(uname -r): $(grep '^# kernel' "$M/.kvfs/config" || echo 'no kernel line')"
# The I/O mode and what FUSE passthrough would need (6.9+, CAP_SYS_ADMIN).
want="kernel does not offer it (6.9+)"
((kver >= 6009)) && want="kernel offers it"
[[ $(id -u) == 0 ]] && want+=", CAP_SYS_ADMIN held" || want+=", CAP_SYS_ADMIN not held"
mode="daemon-served"
[[ $want == "kernel offers it, CAP_SYS_ADMIN held" && ${KVFS_TEST_PASSTHROUGH:-auto} != 0 ]] &&
	mode="passthrough (the kernel serves files memory holds whole)"
grep -qF "# io mode: $mode; FUSE passthrough: $want" "$M/.kvfs/config" ||
	t_fail "config's io mode line: $(grep '^# io mode' "$M/.kvfs/config" || echo none), expected '$mode; ...$want'"

# mm.py OP FILE [ARGS]: one mapping operation; prints what it saw.
cat >"$T_DIR/mm.py" <<'PY'
import mmap, os, sys, hashlib
op, path = sys.argv[1], sys.argv[2]
def pattern(seed, n):
    out = bytearray(); h = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        out += h; h = hashlib.sha256(h).digest()
    return bytes(out[:n])
if op == "write":                     # write(2) a pattern: seed size
    seed, n = int(sys.argv[3]), int(sys.argv[4])
    with open(path, "wb") as f: f.write(pattern(seed, n))
elif op == "read-shared":             # map shared, compare with the pattern
    seed = int(sys.argv[3]); fd = os.open(path, os.O_RDONLY)
    n = os.fstat(fd).st_size
    m = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    print("same" if m[:] == pattern(seed, n) else "different")
elif op == "read-private":
    seed = int(sys.argv[3]); fd = os.open(path, os.O_RDONLY)
    n = os.fstat(fd).st_size
    m = mmap.mmap(fd, 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
    print("same" if m[:] == pattern(seed, n) else "different")
elif op == "poke":                    # shared writable mapping: bytes at off
    off, val = int(sys.argv[3]), sys.argv[4].encode()
    fd = os.open(path, os.O_RDWR); m = mmap.mmap(fd, 0)
    m[off:off + len(val)] = val; m.flush(); m.close(); os.close(fd)
elif op == "peek":                    # read(2) bytes at off
    off, n = int(sys.argv[3]), int(sys.argv[4])
    with open(path, "rb", buffering=0) as f:
        f.seek(off); print(f.read(n).decode(errors="replace"))
elif op == "create-mapped":           # a new file written only through a mapping
    seed, n = int(sys.argv[3]), int(sys.argv[4])
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    os.ftruncate(fd, n); m = mmap.mmap(fd, n)
    m[:] = pattern(seed, n); m.close(); os.close(fd)
elif op == "memmap-at":               # numpy.memmap(offset=): a page of a page file
    seed, off, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    fd = os.open(path, os.O_RDONLY)
    m = mmap.mmap(fd, n + off % mmap.ALLOCATIONGRANULARITY, prot=mmap.PROT_READ,
                  offset=off - off % mmap.ALLOCATIONGRANULARITY)
    got = m[off % mmap.ALLOCATIONGRANULARITY:]
    print("same" if got == pattern(seed, off + n)[off:] else "different")
PY
mm() { python3 "$T_DIR/mm.py" "$@"; }

# Read mappings of a direct-I/O file (8 MiB) and of a small cached one.
mm write "$M/big.kv" 1 $((8 << 20))
mm write "$M/small.kv" 2 4000
t_eq "$(mm read-shared "$M/big.kv" 1)" same "shared mapping of an 8 MiB file"
t_eq "$(mm read-private "$M/big.kv" 1)" same "private mapping of an 8 MiB file"
t_eq "$(mm read-shared "$M/small.kv" 2)" same "shared mapping of a 4000-byte file"

# A shared writable mapping: read(2) sees its bytes after msync + munmap,
# the checksum follows, and they survive a restart.
mm poke "$M/big.kv" 5000000 HELLO-MMAP
t_eq "$(mm peek "$M/big.kv" 5000000 10)" HELLO-MMAP "read(2) after writing through a mapping"
t_eq "$(mm read-shared "$M/big.kv" 1)" different "the mapping's write is seen by a new mapping"

# A file made only through a mapping, published at its close.
mm create-mapped "$M/mapped.kv" 3 $((3 << 20))
t_eq "$(stat -c %s "$M/mapped.kv")" $((3 << 20)) "size of a file written through a mapping"
t_eq "$(mm read-shared "$M/mapped.kv" 3)" same "a file written through a mapping, mapped again"

# A page of a page file, mapped at an offset (numpy.memmap(offset=...)).
mm write "$M/pages.bin" 4 $((4 << 20))
t_eq "$(mm memmap-at "$M/pages.bin" 4 $((1 << 20)) 65536)" same "a 64 KiB page mapped at 1 MiB"

# A file only the SSD holds (demoted: memory keeps its head) maps too.
# A clean unmount writes every file to the SSD; a restart loads heads only.
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=256M"
t_eq "$(getfattr --absolute-names --only-values -n user.kvfs.tier "$M/pages.bin")" ssd "tier of pages.bin after a restart"
t_eq "$(mm read-shared "$M/pages.bin" 4)" same "shared mapping of a file only the SSD holds"
t_eq "$(mm peek "$M/big.kv" 5000000 10)" HELLO-MMAP "the mapping's write after a restart"
t_eq "$(mm read-shared "$M/mapped.kv" 3)" same "the mapped file after a restart"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
t_log "shared and private mappings, writes through them, restart: all agree"
