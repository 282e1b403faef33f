#!/usr/bin/env bash
# test_gpu_fakecuda.sh - libkvfs-gpu's CUDA backend against the stand-in
# driver (tests/fake/fake_cuda.c, $BUILD/fake-cuda/libcuda.so.1), where no GPU
# exists.  The stand-in moves no data over PCIe; it checks how the library
# uses the driver API: contexts pushed and popped, copies to and from pinned
# memory only, streams synchronized before a transfer returns, each file
# mapping registered once however many transfers use it, nothing registered
# after kvfs_gpu_close.  Its injected faults: no device, a stub driver, a
# registration refused, a copy that fails.  Then gpu_cuda's full run, as on
# a GPU, on a real mount: on the fallback path (these daemon-served opens)
# and on the mapped path (KVFS_GPU_MAP=1, the code passthrough opens use).
. "$(dirname "$0")/lib.sh"
t_require_helper gpu_cuda gpu_io
FAKE=$BUILD/fake-cuda
[[ -f $FAKE/libcuda.so.1 ]] ||
	t_fail "$FAKE/libcuda.so.1 is missing (make test builds tests/fake/fake_cuda.c)"
export LD_LIBRARY_PATH=$FAKE${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Nothing inherited may choose the backend or inject a fault.
unset KVFS_GPU_BACKEND FAKE_CUDA_DEVICES FAKE_CUDA_INIT FAKE_CUDA_REGISTER \
	FAKE_CUDA_FAIL_COPY FAKE_CUDA_DELAY_US

# gpu_cuda probe: 77 naming the device when there is none or the driver is a
# stub (CUDA_ERROR_STUB_LIBRARY, 34), 0 with the stand-in's one device.
for inject in FAKE_CUDA_DEVICES=0 FAKE_CUDA_INIT=34; do
	rc=0
	out=$(env "$inject" "$IT/gpu_cuda" probe 2>&1) || rc=$?
	t_eq "$rc" 77 "exit status of gpu_cuda probe with $inject"
	[[ $out == *"no CUDA device"* ]] || t_fail "gpu_cuda probe with $inject said: $out"
done
out=$("$IT/gpu_cuda" probe 2>&1) || t_fail "gpu_cuda probe with the stand-in: $out"

# KVFS_GPU_AUTO: cuda where libcuda.so.1 has a device, else host.
t_eq "$("$IT/gpu_io" backend)" cuda "the backend auto picks with the stand-in"
t_eq "$(FAKE_CUDA_DEVICES=0 "$IT/gpu_io" backend)" host "the backend auto picks with no device"
t_eq "$(KVFS_GPU_BACKEND=host "$IT/gpu_io" backend)" host "the backend with KVFS_GPU_BACKEND=host"

t_require_fuse
M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=1G
t_require_kvfs_mount "$M"

# The full run: sync, async on a stream, a thread with no context, a hole,
# one file over and over, the fallback; every call checked by the stand-in.
out=$(KVFS_GPU_MAP=0 "$IT/gpu_cuda" "$M" "$T_DIR/outside.bin" 2>&1) || t_fail "gpu_cuda: $out"
[[ $out == *"driver: stand-in (tests/fake), no bandwidth figures"* ]] ||
	t_fail "gpu_cuda did not see the stand-in: $out"
[[ $out == *"OK cuda: mapped=0 fallback=50 "* && $out == *" maps=0 registrations=0"* ]] ||
	t_fail "gpu_cuda with the stand-in, fallback path: $out"
out=$(KVFS_GPU_MAP=1 "$IT/gpu_cuda" "$M" "$T_DIR/outside.bin" 2>&1) ||
	t_fail "gpu_cuda, KVFS_GPU_MAP=1: $out"
[[ $out == *"OK cuda: mapped=48 fallback=2 "* && $out != *"could not register"* ]] ||
	t_fail "gpu_cuda with the stand-in, mapped path: $out"
t_log "full runs ($(t_elapsed))"

# Registration refused (CUDA_ERROR_NOT_PERMITTED): slower, still correct,
# and tried once per mapping, not per transfer.
out=$(KVFS_GPU_MAP=1 FAKE_CUDA_REGISTER=800 "$IT/gpu_cuda" "$M" "$T_DIR/outside.bin" 2>&1) ||
	t_fail "gpu_cuda with FAKE_CUDA_REGISTER=800: $out"
[[ $out == *"note: CUDA could not register"* && $out == *"OK cuda:"* ]] ||
	t_fail "gpu_cuda with FAKE_CUDA_REGISTER=800: $out"

# The first copy of an overwrite fails: -EFAULT, none of the device's bytes
# written, the range writable again; on both paths.
for map in 0 1; do
	out=$(KVFS_GPU_MAP=$map FAKE_CUDA_FAIL_COPY=1 "$IT/gpu_cuda" copyfail "$M" 2>&1) ||
		t_fail "gpu_cuda copyfail (KVFS_GPU_MAP=$map): $out"
	[[ $out == "OK copyfail:"* ]] || t_fail "gpu_cuda copyfail (KVFS_GPU_MAP=$map): $out"
	t_eq "$(t_size "$M/copyfail.kv")" $((8 << 20)) "size of the file written after the failure"
done

kvfs_umount "$M"
t_log "done ($(t_elapsed))"
