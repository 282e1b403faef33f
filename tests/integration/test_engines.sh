#!/usr/bin/env bash
# test_engines.sh - the five engines' call sequences of ENGINES.md, as
# kvfs-bench-engines emulates them for `make bench`, run once each on a kvfs
# mount (and on an ext4 directory and a tmpfs, the benchmark's bases, so
# the emulation itself is known good) with every byte checked:
# ds4-server (stdio temp + rename, directory scans of 52-byte heads, r+b
# header rewrites, whole-file freads, unlink while a reader holds the file),
# SGLang HiCache (batch_exists, temp + one write + rename, one whole-file
# read), vLLM (O_DIRECT probe, O_EXCL|O_DIRECT temp files in nested hash
# directories, access(F_OK) batches, O_DIRECT readv), LMCache (statvfs guard,
# exact-size reads), llm-d (O_TMPFILE + linkat or temp + rename, 4 MiB
# writes, utimensat of atime with mtime kept); then a shared read-only
# mapping of a file and checked 4 KiB random preads from one and two
# threads.  The tool exits non-zero on the first wrong byte, short read,
# missing or extra name, wrong time stamp, or failed mmap (before kvfs asked
# for FUSE_DIRECT_IO_ALLOW_MMAP, that last one failed with ENODEV).
. "$(dirname "$0")/lib.sh"
t_require_fuse
TOOL=$BUILD/kvfs-bench-engines
[[ -x $TOOL ]] || t_fail "$TOOL is missing (make builds tools/kvfs-bench-engines.c)"

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=256M
t_require_kvfs_mount "$M"
used0=$(t_statfs "$M" used)
t_mount_tmpfs "$T_DIR/tmpfs" 128M
mkdir -p "$T_DIR/disk"

# With 200 more descriptors open, as an engine's process holds: each new
# file must still be published at its close (design.md,
# "Publish-on-close"; until stage 13 that close read every descriptor).
out=$("$TOOL" --verify-only --fds 200 "kvfs=$M" "disk=$T_DIR/disk" "tmpfs=$T_TMPFS" 2>&1) ||
	t_fail "kvfs-bench-engines --verify-only --fds 200 failed: $out"
t_log "$out"
grep -q '^holding 200 more descriptors open' <<<"$out" || t_fail "no --fds line in: $out"
for e in ds4 sglang vllm lmcache llmd mmap; do
	for l in kvfs disk; do
		grep -Eq "^verify: $e +on $l +ok" <<<"$out" || t_fail "no '$e on $l ok' line in: $out"
	done
done
grep -Eq '^verify: rand +on kvfs +ok' <<<"$out" || t_fail "no 'rand on kvfs ok' line in: $out"
t_eq "$(tail -n 1 <<<"$out")" "verify: all sequences ok" "last line"
# vLLM's start-up probe must find O_DIRECT accepted (ENGINES.md: kvfs needs it).
grep -Eq '^verify: vllm +on kvfs .*\(O_DIRECT\)' <<<"$out" ||
	t_fail "vLLM's O_DIRECT probe failed on kvfs: $out"

# Nothing left behind: the mount is empty and its space is back.
t_eq "$(ls -A "$M")" "" "entries left in $M"
kvfs_alive "$M"
used1=$(t_statfs "$M" used)
((used1 <= used0 + (1 << 20))) || t_fail "$M uses $used1 bytes after the run, $used0 before"

# A label kvfs* that is not a FUSE mount is refused, not measured.
if "$TOOL" --verify-only "kvfs=$T_DIR/disk" >"$T_DIR/refused" 2>&1; then
	t_fail "kvfs-bench-engines accepted a plain directory as kvfs"
fi
grep -q 'is not a FUSE mount' "$T_DIR/refused" || t_fail "refusal: $(cat "$T_DIR/refused")"

kvfs_umount "$M"
