/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Owns constant tables, built once under pthread_once: the slicing-by-8
 * table of the software path, the powers x^(8 * 2^k) mod P that turn
 * "append n zero bytes" into O(log n) multiplications, and the byte tables
 * of two fixed multiplications that join the hardware streams.  After that
 * every function is pure and callable from any thread without locks.
 *
 * Speed: with SSE4.2 the crc32 instruction has a latency of 3 cycles and a
 * throughput of 1 per cycle, so one dependent chain runs at a third of what
 * the unit can do.  Buffers are therefore cut into three interleaved
 * streams whose results are joined with one multiplication each
 * (raw(s, A || B) = shift(raw(s, A), |B|) ^ raw(0, B)).
 * Without SSE4.2, slicing-by-8 tables (8 KiB) do eight bytes per step.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#include "log.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_HAVE_HW 1
#else
#define CRC32C_HAVE_HW 0
#endif

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 bit-reversed */

/*
 * Bytes per stream in the 3-way loops.  Each round ends with two
 * multiplications by x^(8 * stride) mod P, done as four table lookups
 * (~10 cycles), against 3 x stride / 8 crc32 instructions: 3 x 8 KiB
 * rounds make the join free, and 3 x 256-byte rounds (96 instructions) still
 * keep it under ~15%, so buffers from 768 bytes up use all three streams.
 * The same pair of strides as Mark Adler's crc32c.c.
 */
#define CRC32C_LONG  8192u
#define CRC32C_SHORT 256u

static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t crc_table[8][256];    /* slicing-by-8, written once */
static uint32_t crc_x8pow[64];        /* x^(8 * 2^k) mod P, k = 0..63 */
static uint32_t crc_long_t[4][256];   /* multiply by x^(8 * CRC32C_LONG) */
static uint32_t crc_short_t[4][256];  /* multiply by x^(8 * CRC32C_SHORT) */
static int crc_hw;                    /* CPU has SSE4.2 */

/*
 * a * b mod P in the reflected representation, where bit 31 is x^0: 32
 * steps without branches (data-dependent branches here mispredict half the
 * time and cost more than the arithmetic).
 */
static uint32_t gf_mul(uint32_t a, uint32_t b)
{
	uint32_t p = 0;
	int i;

	for (i = 31; i >= 0; i--) {
		p ^= b & (0u - ((a >> i) & 1));
		b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1)));
	}
	return p;
}

/* Fills t with the four byte tables of "multiply by k" (a linear map). */
static void mul_table_init(uint32_t t[4][256], uint32_t k)
{
	int i, j;

	for (j = 0; j < 4; j++)
		for (i = 0; i < 256; i++)
			t[j][i] = gf_mul((uint32_t)i << (8 * j), k);
}

/* state * k mod P for the k whose tables t are: four lookups. */
static uint32_t mul_table(const uint32_t t[4][256], uint32_t state)
{
	return t[0][state & 0xff] ^ t[1][(state >> 8) & 0xff] ^
	       t[2][(state >> 16) & 0xff] ^ t[3][state >> 24];
}

/* x^(8 * n) mod P, from the powers table (filled up to 2^k > n). */
static uint32_t x8n(uint64_t n)
{
	uint32_t r = 1u << 31; /* x^0 */
	int k;

	for (k = 0; n; n >>= 1, k++)
		if (n & 1)
			r = gf_mul(r, crc_x8pow[k]);
	return r;
}

static void crc_init(void)
{
	int i, k;

	for (i = 0; i < 256; i++) {
		uint32_t c = (uint32_t)i;

		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
					  crc_table[0][crc_table[k - 1][i] & 0xff];
	crc_x8pow[0] = 1u << 23; /* x^8: bit 31 - 8 */
	for (k = 1; k < 64; k++)
		crc_x8pow[k] = gf_mul(crc_x8pow[k - 1], crc_x8pow[k - 1]);
	mul_table_init(crc_long_t, x8n(CRC32C_LONG));
	mul_table_init(crc_short_t, x8n(CRC32C_SHORT));
#if CRC32C_HAVE_HW
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* Software path: slicing-by-8.  Exported (not in the header) for tests. */
uint32_t kvfs_crc32c_raw_sw(uint32_t crc, const void *buf, size_t len);
uint32_t kvfs_crc32c_raw_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc_once, crc_init);
	while (len >= 8) {
		uint64_t w = load_le64(p) ^ crc;

		crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if CRC32C_HAVE_HW
/* One round of three streams of `stride` bytes each, joined. */
__attribute__((target("sse4.2"), always_inline))
static inline uint64_t hw_round(uint64_t c, const unsigned char *p, size_t stride,
				const uint32_t t[4][256])
{
	const unsigned char *end = p + stride;
	uint64_t c1 = 0, c2 = 0;

	for (; p < end; p += 8) {
		c = _mm_crc32_u64(c, load_le64(p));
		c1 = _mm_crc32_u64(c1, load_le64(p + stride));
		c2 = _mm_crc32_u64(c2, load_le64(p + 2 * stride));
	}
	c = mul_table(t, (uint32_t)c) ^ (uint32_t)c1;
	return mul_table(t, (uint32_t)c) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2")))
static uint32_t hw_raw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	for (; len >= 3 * CRC32C_LONG; len -= 3 * CRC32C_LONG, p += 3 * CRC32C_LONG)
		c = hw_round(c, p, CRC32C_LONG, crc_long_t);
	for (; len >= 3 * CRC32C_SHORT; len -= 3 * CRC32C_SHORT, p += 3 * CRC32C_SHORT)
		c = hw_round(c, p, CRC32C_SHORT, crc_short_t);
	for (; len >= 8; len -= 8, p += 8)
		c = _mm_crc32_u64(c, load_le64(p));
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

/* Hardware path, falling back to software without SSE4.2.  For tests. */
uint32_t kvfs_crc32c_raw_hw(uint32_t crc, const void *buf, size_t len);
uint32_t kvfs_crc32c_raw_hw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
#if CRC32C_HAVE_HW
	if (crc_hw)
		return hw_raw(crc, buf, len);
#endif
	return kvfs_crc32c_raw_sw(crc, buf, len);
}

uint32_t kvfs_crc32c_raw(uint32_t state, const void *buf, size_t len)
{
	return kvfs_crc32c_raw_hw(state, buf, len);
}

uint32_t kvfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ~kvfs_crc32c_raw_hw(~crc, buf, len);
}

/* Appending n zero bytes multiplies the raw state by x^(8n) mod P. */
uint32_t kvfs_crc32c_shift(uint32_t state, uint64_t nbytes)
{
	pthread_once(&crc_once, crc_init);
	return gf_mul(state, x8n(nbytes));
}

uint32_t kvfs_crc32c_zeros(uint32_t crc, uint64_t nzeros)
{
	return ~kvfs_crc32c_shift(~crc, nzeros);
}

/*
 * Two messages of equal length differ in standard CRC by the raw CRC of
 * their XOR (the init and final inversions cancel).  The XOR is zero outside
 * [off, off + len), so it is raw(0, old ^ new) followed by file_len - off -
 * len zero bytes.  The XOR is formed 256 bytes at a time on the stack.
 */
uint32_t kvfs_crc32c_patch(uint32_t crc, uint64_t file_len, uint64_t off,
			   const void *old, const void *new, size_t len)
{
	const unsigned char *o = old, *n = new;
	unsigned char d[256];
	uint32_t delta = 0;
	uint64_t tail = 0;
	size_t i, chunk;

	KVFS_DCHECK(off <= file_len && len <= file_len - off);
	if (off <= file_len && len <= file_len - off)
		tail = file_len - off - len;
	while (len) {
		chunk = len < sizeof(d) ? len : sizeof(d);
		for (i = 0; i < chunk; i++)
			d[i] = o[i] ^ n[i];
		delta = kvfs_crc32c_raw(delta, d, chunk);
		o += chunk;
		n += chunk;
		len -= chunk;
	}
	return crc ^ kvfs_crc32c_shift(delta, tail);
}
