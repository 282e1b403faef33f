/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum kvfs records for every file.
 *
 * kvfs_crc32c() is the standard CRC-32C (init ~0, final xor ~0; the check
 * value of "123456789" is 0xE3069283), using SSE4.2 when the CPU has it.
 *
 * CRC is affine over GF(2), which lets kvfs keep a file's checksum current
 * under in-place rewrites without rereading the file: for a file of n bytes,
 * overwriting bytes [o, o + l) changes the checksum by
 *     kvfs_crc32c_shift(kvfs_crc32c_raw(0, old XOR new, l), n - o - l)
 * (see kvfs_crc32c_patch()).  A 48-byte header rewrite of a 1 GiB file thus
 * costs a 48-byte CRC plus ~30 table-free multiplications, not a 1 GiB pass.
 */
#ifndef KVFS_CRC32C_H
#define KVFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Standard CRC-32C of buf, continuing from crc (pass 0 to start). */
uint32_t kvfs_crc32c(uint32_t crc, const void *buf, size_t len);

/* The linear part only: no pre- or post-inversion.  crc_raw(0, zeros) == 0. */
uint32_t kvfs_crc32c_raw(uint32_t state, const void *buf, size_t len);

/* Raw CRC state after feeding `nbytes` zero bytes to `state`, in O(log n). */
uint32_t kvfs_crc32c_shift(uint32_t state, uint64_t nbytes);

/* Standard CRC-32C of a buffer followed by `nzeros` zero bytes, in O(log n). */
uint32_t kvfs_crc32c_zeros(uint32_t crc, uint64_t nzeros);

/*
 * New checksum of a file of `file_len` bytes whose checksum was `crc`, after
 * bytes [off, off + len) changed from `old` to `new` (off + len <= file_len).
 */
uint32_t kvfs_crc32c_patch(uint32_t crc, uint64_t file_len, uint64_t off,
			   const void *old, const void *new, size_t len);

#endif
