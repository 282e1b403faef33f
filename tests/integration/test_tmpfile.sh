#!/usr/bin/env bash
# test_tmpfile.sh - open(dir, O_TMPFILE) and linkat(), as llm-d's fs
# connector stores a block (ENGINES.md): the kernel's FUSE_TMPFILE reaches
# kvfs through kproto.c (libfuse 3.14 would answer ENOSYS: EOPNOTSUPP).
#   - a tmpfile has no name (nlink 0, the directory lists nothing) while
#     written; linkat through /proc/self/fd names and publishes it: another
#     process reads its bytes before the writer closes; after the close its
#     checksum is the CRC-32C of the bytes;
#   - a tmpfile never linked gives its memory back at close, and no name;
#   - linkat over an existing name: EEXIST (llm-d counts that as stored);
#     O_TMPFILE|O_EXCL: the kernel refuses the link (ENOENT); a hard link
#     of a named file: EPERM, as before;
#   - linked after its writer closed (a read-only reopen kept it): queued
#     for the SSD all the same;
#   - the linked files come back after a restart from the SSD (memory lost).
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern crc32c
t_require_cmd python3 getfattr

M=$T_DIR/mnt
S=$T_DIR/state
D=$T_DIR/ssd
mkdir -p "$D"
kvfs_mount "$M" "$S" "mem=256M,ssd=$D,ssd_size=256M"
t_require_kvfs_mount "$M"
mkdir "$M/blocks"

# tf.py OP DIR NAME [REF]: one O_TMPFILE store; prints what it saw.
cat >"$T_DIR/tf.py" <<'PY'
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
def link(fd, path):		# linkat(AT_FDCWD, /proc/self/fd/N, ..., AT_SYMLINK_FOLLOW)
    if libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, path.encode(), 0x400):
        e = ctypes.get_errno(); return os.strerror(e)
    return "ok"
op, d, name = sys.argv[1:4]
path = os.path.join(d, name)
if op == "store":		# 4 MiB writes of REF, link, another reader, close
    data = open(sys.argv[4], "rb").read()
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o644)
    for off in range(0, len(data), 4 << 20):
        os.write(fd, data[off:off + (4 << 20)])
    st = os.fstat(fd)
    print("unnamed", st.st_nlink, st.st_size, len(os.listdir(d)))
    print("link", link(fd, path))
    print("reader", subprocess.run(["cmp", "-s", sys.argv[4], path]).returncode)
    os.close(fd)
elif op == "drop":		# written, never linked
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o644)
    os.write(fd, os.urandom(16 << 20))
    os.close(fd)
    print("names", len([n for n in os.listdir(d) if n == name]))
elif op == "exists":		# linkat over a name that exists
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o644)
    os.write(fd, b"x" * 100)
    print("link", link(fd, path))
    os.close(fd)
elif op == "excl":
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY | os.O_EXCL, 0o644)
    os.write(fd, b"x" * 100)
    print("link", link(fd, path))
    os.close(fd)
elif op == "late":		# the writer closes first; a read-only reopen links
    data = open(sys.argv[4], "rb").read()
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o644)
    os.write(fd, data)
    ro = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
    os.close(fd)
    print("link", link(ro, path))
    os.close(ro)
PY
tf() { python3 "$T_DIR/tf.py" "$@"; }

kver=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
((kver >= 6001)) || t_skip "kernel $(uname -r) has no FUSE_TMPFILE (6.1+)"
"$IT/pattern" 1 12M >"$T_DIR/ref1"
out=$(tf store "$M/blocks" b1.bin "$T_DIR/ref1" 2>&1) || t_fail "O_TMPFILE store: $out"
t_eq "$(sed -n 1p <<<"$out")" "unnamed 0 $((12 << 20)) 0" "fstat nlink, size and directory entries of an unlinked tmpfile"
t_eq "$(sed -n 2p <<<"$out")" "link ok" "linkat of the tmpfile"
t_eq "$(sed -n 3p <<<"$out")" "reader 0" "another process's cmp of the linked file before the writer closed"
t_cmp "$T_DIR/ref1" "$M/blocks/b1.bin"
t_eq "$(stat -c %h "$M/blocks/b1.bin")" 1 "nlink of the linked file"
t_eq "$(t_xattr "$M/blocks/b1.bin" user.kvfs.crc32c)" "$("$IT/crc32c" "$T_DIR/ref1")" \
	"user.kvfs.crc32c of the linked file"
t_eq "$(t_stat "$M" io tmpfiles)" 1 "io.tmpfiles after one O_TMPFILE open"
t_log "O_TMPFILE + linkat: named, read by another process, checksummed ($(t_elapsed))"

used0=$(t_statfs "$M" used)
t_eq "$(tf drop "$M/blocks" never.bin)" "names 0" "names left by a tmpfile never linked"
for ((i = 0; i < 50; i++)); do
	(($(t_statfs "$M" used) <= used0)) && break
	sleep 0.1
done
(($(t_statfs "$M" used) <= used0)) ||
	t_fail "16 MiB of a tmpfile never linked still used after its close ($(t_statfs "$M" used) > $used0)"
t_eq "$(t_stat "$M" namespace files)" 1 "files after a tmpfile was dropped"

t_eq "$(tf exists "$M/blocks" b1.bin)" "link File exists" "linkat over an existing name"
t_cmp "$T_DIR/ref1" "$M/blocks/b1.bin"
t_eq "$(tf excl "$M/blocks" x.bin)" "link No such file or directory" "linkat of an O_EXCL tmpfile"
out=$(ln "$M/blocks/b1.bin" "$M/blocks/hard.bin" 2>&1) && t_fail "a hard link of a named file was made"
[[ $out == *"Operation not permitted"* ]] || t_fail "a hard link of a named file: expected EPERM, got: $out"
t_log "errors: EEXIST, ENOENT for O_EXCL, EPERM for hard links ($(t_elapsed))"

"$IT/pattern" 2 3M >"$T_DIR/ref2"
t_eq "$(tf late "$M/blocks" b2.bin "$T_DIR/ref2")" "link ok" "linkat through a read-only reopen after the writer closed"
t_cmp "$T_DIR/ref2" "$M/blocks/b2.bin"
t_wait_flushed "$M"
t_wait_stored "$M/blocks/b2.bin"
t_eq "$(t_xattr "$M/blocks/b2.bin" user.kvfs.tier)" memory+ssd "tier of a file linked after its writer closed"
t_eq "$(ls "$M/blocks" | tr '\n' ' ')" "b1.bin b2.bin " "the directory after the tmpfiles"

kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD brings them back
kvfs_mount "$M" "$S" "mem=256M,ssd=$D,ssd_size=256M"
t_cmp "$T_DIR/ref1" "$M/blocks/b1.bin"
t_cmp "$T_DIR/ref2" "$M/blocks/b2.bin"
t_log "restart: both linked files back from the SSD ($(t_elapsed))"
kvfs_umount "$M"
