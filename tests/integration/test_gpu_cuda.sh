#!/usr/bin/env bash
# test_gpu_cuda.sh - libkvfs-gpu's CUDA backend on a real mount, on the
# fallback path and on the mapped path (KVFS_GPU_MAP=1): device pages
# gathered into a file and scattered back, one file registered once over
# many transfers, the bounce-buffer fallback with device memory, and
# bandwidth against cuMemcpy to pinned memory (with the cost of mapping and
# registering a file).  Skipped (77) where libcuda.so.1 or a CUDA device is
# missing.
. "$(dirname "$0")/lib.sh"
t_require_helper gpu_cuda
rc=0
out=$("$IT/gpu_cuda" probe 2>&1) || rc=$?
((rc == 77)) && t_skip "${out#SKIP: }"
((rc == 0)) || t_fail "gpu_cuda probe: $out"
t_require_fuse

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=1G
t_require_kvfs_mount "$M"
KVFS_GPU_MAP=0 "$IT/gpu_cuda" "$M" "$T_DIR/outside.bin"
KVFS_GPU_MAP=1 "$IT/gpu_cuda" "$M" "$T_DIR/outside.bin"
kvfs_umount "$M"
