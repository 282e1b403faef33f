"""kvfs_gpu - libkvfs-gpu from Python, through ctypes (no compiled extension).

Moves GPU memory (a tensor's data pointer) into an open kvfs file and back
with one copy per buffer and no staging file: where the kernel serves the
open file from its memory pages (FUSE passthrough) the library maps the file
and copies device memory (counted in stats()["mapped"]); anywhere else, and
for host memory everywhere, the same calls go through pwrite/pread
(stats()["fallback"]).

    import os, torch, kvfs_gpu

    gpu = kvfs_gpu.Context("/mnt/kvfs")          # or Context(): no mount check
    pages = [kv_cache[i] for i in block_ids]     # contiguous CUDA tensors
    fd = os.open("/mnt/kvfs/prefix.kv.tmp", os.O_RDWR | os.O_CREAT, 0o644)
    gpu.pwritev(fd, pages, 0)                    # gather the pages into the file
    os.close(fd)
    os.rename("/mnt/kvfs/prefix.kv.tmp", "/mnt/kvfs/prefix.kv")

    fd = os.open("/mnt/kvfs/prefix.kv", os.O_RDONLY)
    gpu.preadv(fd, pages, 0)                     # scatter it back
    os.close(fd)

Buffers may be torch tensors (data_ptr()), objects with
__cuda_array_interface__ (CuPy, Numba), numpy arrays, ctypes buffers or
bytearrays, or (pointer, nbytes) pairs.  Errors raise OSError with the errno
the library returned.  The shared library is found through $KVFS_GPU_LIB,
then the loader's path (libkvfs_gpu.so.1, libkvfs_gpu.so).
"""

import ctypes
import ctypes.util
import errno
import os

__all__ = ["Context", "HOST", "CUDA", "AUTO"]

AUTO, HOST, CUDA = 0, 1, 2


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Stats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "writes", "reads", "bytes_written", "bytes_read", "mapped", "fallback",
        "fallback_bytes", "copies", "ioctls", "maps", "registrations",
        "unregistered", "evictions", "unlinked", "errors")]


def _load():
    names = [os.environ.get("KVFS_GPU_LIB"), "libkvfs_gpu.so.1", "libkvfs_gpu.so",
             ctypes.util.find_library("kvfs_gpu")]
    last = None
    for name in names:
        if not name:
            continue
        try:
            return ctypes.CDLL(name, use_errno=True)
        except OSError as e:
            last = e
    raise OSError(errno.ENOENT, "libkvfs_gpu not found (set KVFS_GPU_LIB): %s" % last)


_lib = None


def _api():
    global _lib
    if _lib is not None:
        return _lib
    lib = _load()
    vp, sz, u64, c_int = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64, ctypes.c_int
    lib.kvfs_gpu_open.argtypes = [ctypes.POINTER(vp), ctypes.c_char_p, ctypes.c_uint]
    lib.kvfs_gpu_open.restype = c_int
    lib.kvfs_gpu_close.argtypes = [vp]
    lib.kvfs_gpu_close.restype = None
    lib.kvfs_gpu_backend.argtypes = [vp]
    lib.kvfs_gpu_backend.restype = ctypes.c_char_p
    for name in ("kvfs_gpu_pwrite", "kvfs_gpu_pread"):
        fn = getattr(lib, name)
        fn.argtypes = [vp, c_int, vp, sz, u64]
        fn.restype = ctypes.c_ssize_t
    for name in ("kvfs_gpu_pwritev", "kvfs_gpu_preadv"):
        fn = getattr(lib, name)
        fn.argtypes = [vp, c_int, ctypes.POINTER(_Iovec), c_int, u64]
        fn.restype = ctypes.c_ssize_t
    for name in ("kvfs_gpu_pwritev_async", "kvfs_gpu_preadv_async"):
        fn = getattr(lib, name)
        fn.argtypes = [vp, c_int, ctypes.POINTER(_Iovec), c_int, u64, vp, ctypes.POINTER(vp)]
        fn.restype = c_int
    lib.kvfs_gpu_wait.argtypes = [vp, vp]
    lib.kvfs_gpu_wait.restype = ctypes.c_ssize_t
    lib.kvfs_gpu_get_stats.argtypes = [vp, ctypes.POINTER(_Stats)]
    lib.kvfs_gpu_get_stats.restype = None
    _lib = lib
    return lib


def _buffer(obj):
    """(address, nbytes, keepalive) of a tensor, array, buffer or (ptr, n)."""
    if isinstance(obj, tuple) and len(obj) == 2:
        return int(obj[0]), int(obj[1]), None
    if hasattr(obj, "data_ptr") and hasattr(obj, "element_size"):     # torch
        if hasattr(obj, "is_contiguous") and not obj.is_contiguous():
            raise ValueError("kvfs_gpu: the tensor must be contiguous")
        return obj.data_ptr(), obj.numel() * obj.element_size(), obj
    cai = getattr(obj, "__cuda_array_interface__", None)
    if cai is not None:                                                # CuPy, Numba
        if cai.get("strides") is not None:
            raise ValueError("kvfs_gpu: the array must be C-contiguous")
        n = 1
        for d in cai["shape"]:
            n *= d
        itemsize = int(cai["typestr"][2:])
        return cai["data"][0], n * itemsize, obj
    if hasattr(obj, "ctypes") and hasattr(obj, "nbytes"):             # numpy
        return obj.ctypes.data, obj.nbytes, obj
    if isinstance(obj, ctypes.Array):
        return ctypes.addressof(obj), ctypes.sizeof(obj), obj
    if isinstance(obj, (bytearray, memoryview)):                      # writable host memory
        mv = memoryview(obj)
        if mv.readonly or not mv.c_contiguous:
            raise ValueError("kvfs_gpu: the buffer must be writable and contiguous")
        holder = (ctypes.c_char * mv.nbytes).from_buffer(mv)
        return ctypes.addressof(holder), mv.nbytes, (holder, mv)
    raise TypeError("kvfs_gpu: cannot take the address of %r" % type(obj).__name__)


def _check(r):
    if r < 0:
        raise OSError(-r, os.strerror(-r))
    return r


class Context:
    """A libkvfs-gpu context; mount, if given, is checked to be a kvfs mount."""

    def __init__(self, mount=None, backend=AUTO):
        lib = _api()
        self._lib = lib
        self._g = ctypes.c_void_p()
        arg = os.fsencode(mount) if mount is not None else None
        _check(lib.kvfs_gpu_open(ctypes.byref(self._g), arg, backend))

    def close(self):
        if self._g:
            self._lib.kvfs_gpu_close(self._g)
            self._g = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def backend(self):
        return self._lib.kvfs_gpu_backend(self._g).decode()

    def pwrite(self, fd, buf, offset):
        """Writes all of buf to fd at offset; returns the byte count."""
        ptr, n, _keep = _buffer(buf)
        return _check(self._lib.kvfs_gpu_pwrite(self._g, fd, ptr, n, offset))

    def pread(self, fd, buf, offset):
        """Fills buf from fd at offset; returns the bytes read (short at EOF)."""
        ptr, n, _keep = _buffer(buf)
        return _check(self._lib.kvfs_gpu_pread(self._g, fd, ptr, n, offset))

    def _vec(self, bufs):
        items = [_buffer(b) for b in bufs]
        vec = (_Iovec * len(items))(*[_Iovec(p, n) for p, n, _ in items])
        return vec, items

    def pwritev(self, fd, bufs, offset):
        """Gathers bufs (e.g. scattered KV pages) into fd at offset."""
        vec, _keep = self._vec(bufs)
        return _check(self._lib.kvfs_gpu_pwritev(self._g, fd, vec, len(vec), offset))

    def preadv(self, fd, bufs, offset):
        """Scatters fd's bytes at offset into bufs; returns the bytes read."""
        vec, _keep = self._vec(bufs)
        return _check(self._lib.kvfs_gpu_preadv(self._g, fd, vec, len(vec), offset))

    def pwritev_async(self, fd, bufs, offset, stream=0):
        """Queues the copies on a CUDA stream (an int handle, e.g.
        torch.cuda.current_stream().cuda_stream); returns a Pending."""
        vec, keep = self._vec(bufs)
        io = ctypes.c_void_p()
        _check(self._lib.kvfs_gpu_pwritev_async(self._g, fd, vec, len(vec), offset,
                                                stream or None, ctypes.byref(io)))
        return Pending(self, io, (vec, keep))

    def preadv_async(self, fd, bufs, offset, stream=0):
        vec, keep = self._vec(bufs)
        io = ctypes.c_void_p()
        _check(self._lib.kvfs_gpu_preadv_async(self._g, fd, vec, len(vec), offset,
                                               stream or None, ctypes.byref(io)))
        return Pending(self, io, (vec, keep))

    def stats(self):
        s = _Stats()
        self._lib.kvfs_gpu_get_stats(self._g, ctypes.byref(s))
        return {name: getattr(s, name) for name, _ in _Stats._fields_}


class Pending:
    """An asynchronous transfer; wait() finishes it and returns its bytes."""

    def __init__(self, ctx, io, keepalive):
        self._ctx, self._io, self._keep = ctx, io, keepalive

    def wait(self):
        if self._io is None:
            raise ValueError("kvfs_gpu: already waited for")
        io, self._io = self._io, None
        r = self._ctx._lib.kvfs_gpu_wait(self._ctx._g, io)
        self._keep = None
        return _check(r)
