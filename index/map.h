/*
 * map.h - where a file's stored version lives on the SSD tier: its chunk
 * map, and the blob that carries it in the file's index row.
 *
 * A file on the SSD is cut into chunks of KVFS_CHUNK bytes; chunk i holds
 * file bytes [i * KVFS_CHUNK, (i + 1) * KVFS_CHUNK) and is stored as one
 * contiguous run of `len` bytes at SSD offset `soff` (ssd.h): the chunk's
 * bytes rounded up to KVFS_SSD_UNIT, the tail past the file's end zero.
 * A chunk that is all hole has len 0 and no run.  Every chunk carries the
 * CRC-32C of its `len` stored bytes, so a reader verifies each chunk it
 * reads, and an offline check can verify everything.
 *
 * Blob layout (little-endian; 32-byte header, 16 bytes per chunk, then a
 * CRC-32C of everything before it):
 *   le32 magic KVFS_MAP_MAGIC, le16 version KVFS_MAP_VERSION, le16 flags 0,
 *   le32 n, le32 file_crc, le32 head_crc, le32 0, le64 size,
 *   n x { le64 soff, le32 len, le32 crc },
 *   le32 crc32c(all bytes above).
 */
#ifndef KVFS_MAP_H
#define KVFS_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KVFS_CHUNK       (1u << 20)
#define KVFS_HEAD        4096u          /* bytes of every file kept in memory */
#define KVFS_MAP_MAGIC   0x70616d6bu    /* "kmap" */
#define KVFS_MAP_VERSION 1

struct kvfs_chunk {
	uint64_t soff;  /* SSD offset of the run; 0 when len == 0 */
	uint32_t len;   /* stored bytes, multiple of 4096, <= KVFS_CHUNK; 0: hole */
	uint32_t crc;   /* CRC-32C of the len stored bytes */
};

struct kvfs_map {
	uint64_t size;      /* the stored version's file size */
	uint32_t file_crc;  /* CRC-32C of its size bytes (holes as zeros) */
	uint32_t head_crc;  /* CRC-32C of the first min(KVFS_HEAD, c[0].len)
			       stored bytes; 0 when n == 0 or c[0] is a hole */
	uint32_t n;         /* chunks: ceil(size / KVFS_CHUNK) */
	struct kvfs_chunk *c;
};

/* Chunks of a file of `size` bytes. */
static inline uint32_t kvfs_map_nchunks(uint64_t size)
{
	return (uint32_t)((size + KVFS_CHUNK - 1) / KVFS_CHUNK);
}

/* Stored length of chunk i of a file of `size` bytes when it is not a hole:
 * its bytes rounded up to 4096. */
static inline uint32_t kvfs_map_chunk_len(uint64_t size, uint32_t i)
{
	uint64_t left = size - (uint64_t)i * KVFS_CHUNK;
	uint64_t b = left < KVFS_CHUNK ? left : KVFS_CHUNK;

	return (uint32_t)((b + 4095) / 4096 * 4096);
}

/* Encodes m into a malloc'd blob.  Returns its length, or -ENOMEM. */
ssize_t kvfs_map_encode(const struct kvfs_map *m, void **blob);
/*
 * Decodes and validates a blob into out (out->c malloc'd).  Returns 0,
 * -ENOMEM, or -EUCLEAN for anything malformed: magic, version, flags,
 * length, blob CRC, n != kvfs_map_nchunks(size), a len other than 0 or
 * kvfs_map_chunk_len(), or an soff not a multiple of 4096.
 */
int kvfs_map_decode(const void *blob, size_t len, struct kvfs_map *out);
void kvfs_map_release(struct kvfs_map *m);

#endif
