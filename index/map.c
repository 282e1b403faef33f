/*
 * map.c - the chunk map's blob: encoding and strict decoding (map.h).
 *
 * Owns nothing but the byte layout.  The blob is what an index row carries
 * in its `map` column, so decoding treats it as disk content: every field is
 * checked and anything that does not describe a well-formed map is -EUCLEAN,
 * never an assertion.  Bytes are packed one by one, so the layout does not
 * depend on the host's byte order or on struct padding.
 *
 * Pure functions; any thread.
 */
#include "map.h"
#include "crc32c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HDR_BYTES   32u         /* magic .. size */
#define CHUNK_BYTES 16u         /* soff, len, crc */
#define CRC_BYTES   4u          /* the trailing CRC-32C */

_Static_assert(sizeof(((struct kvfs_chunk *)0)->soff) == 8 &&
	       sizeof(((struct kvfs_chunk *)0)->len) == 4 &&
	       sizeof(((struct kvfs_chunk *)0)->crc) == 4,
	       "a chunk's fields are 8 + 4 + 4 = CHUNK_BYTES bytes on disk");
_Static_assert(KVFS_CHUNK % 4096 == 0, "chunks are whole SSD units");

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

ssize_t kvfs_map_encode(const struct kvfs_map *m, void **blob)
{
	/* n < 2^32, so this is at most 64 GiB + 36 and fits a 64-bit size_t. */
	size_t len = HDR_BYTES + (size_t)m->n * CHUNK_BYTES + CRC_BYTES;
	unsigned char *b, *p;
	uint32_t i;

	b = malloc(len);
	if (!b)
		return -ENOMEM;
	put32(b, KVFS_MAP_MAGIC);
	put16(b + 4, KVFS_MAP_VERSION);
	put16(b + 6, 0);                /* flags */
	put32(b + 8, m->n);
	put32(b + 12, m->file_crc);
	put32(b + 16, m->head_crc);
	put32(b + 20, 0);               /* reserved */
	put64(b + 24, m->size);
	for (i = 0, p = b + HDR_BYTES; i < m->n; i++, p += CHUNK_BYTES) {
		put64(p, m->c[i].soff);
		put32(p + 8, m->c[i].len);
		put32(p + 12, m->c[i].crc);
	}
	put32(p, kvfs_crc32c(0, b, len - CRC_BYTES));
	*blob = b;
	return (ssize_t)len;
}

/*
 * Chunks of a file of `size` bytes, without kvfs_map_nchunks()'s overflow
 * near UINT64_MAX and its truncation to 32 bits.
 */
static uint64_t nchunks64(uint64_t size)
{
	return size / KVFS_CHUNK + (size % KVFS_CHUNK != 0);
}

/*
 * A chunk is either a hole (everything 0: no run, and the CRC of no bytes
 * is 0) or a run of exactly kvfs_map_chunk_len() bytes at a 4096-aligned
 * offset that does not wrap past the end of the address space.
 */
static int chunk_ok(const struct kvfs_chunk *c, uint64_t size, uint32_t i)
{
	if (c->len == 0)
		return c->soff == 0 && c->crc == 0;
	return c->len == kvfs_map_chunk_len(size, i) && c->soff % 4096 == 0 &&
	       c->soff <= UINT64_MAX - c->len;
}

/* Everything in the header but n, which the blob's length has checked. */
static int header_ok(const unsigned char *b, const struct kvfs_map *m)
{
	if (get32(b) != KVFS_MAP_MAGIC || get16(b + 4) != KVFS_MAP_VERSION ||
	    get16(b + 6) != 0 || get32(b + 20) != 0)
		return 0;
	if (nchunks64(m->size) != m->n)
		return 0;
	/* The checksums of no bytes are 0 (map.h). */
	if (m->size == 0 && m->file_crc != 0)
		return 0;
	return 1;
}

int kvfs_map_decode(const void *blob, size_t len, struct kvfs_map *out)
{
	const unsigned char *b = blob, *p;
	struct kvfs_map m;
	uint32_t i;

	if (!b || len < HDR_BYTES + CRC_BYTES ||
	    (len - HDR_BYTES - CRC_BYTES) % CHUNK_BYTES != 0)
		return -EUCLEAN;
	memset(&m, 0, sizeof(m));
	m.n = get32(b + 8);
	if ((len - HDR_BYTES - CRC_BYTES) / CHUNK_BYTES != m.n)
		return -EUCLEAN;
	if (get32(b + len - CRC_BYTES) != kvfs_crc32c(0, b, len - CRC_BYTES))
		return -EUCLEAN;
	m.file_crc = get32(b + 12);
	m.head_crc = get32(b + 16);
	m.size = get64(b + 24);
	if (!header_ok(b, &m))
		return -EUCLEAN;
	if (m.n) {
		m.c = malloc((size_t)m.n * sizeof(*m.c));
		if (!m.c)
			return -ENOMEM;
	}
	for (i = 0, p = b + HDR_BYTES; i < m.n; i++, p += CHUNK_BYTES) {
		m.c[i].soff = get64(p);
		m.c[i].len = get32(p + 8);
		m.c[i].crc = get32(p + 12);
		if (!chunk_ok(&m.c[i], m.size, i))
			goto bad;
	}
	if ((m.n == 0 || m.c[0].len == 0) && m.head_crc != 0)
		goto bad;
	*out = m;
	return 0;
bad:
	free(m.c);
	return -EUCLEAN;
}

void kvfs_map_release(struct kvfs_map *m)
{
	if (!m)
		return;
	free(m->c);
	m->c = NULL;
	m->n = 0;
}
