/*
 * slab.c - the SSD slab file format (see slab.h): slab names and headers,
 * made, parsed and checked in this one place for the daemon (ssd.c), the
 * offline check (index/check_ssd.c), the tools and the tests.
 *
 * Owns nothing: pure functions over the caller's buffers, no locks, any
 * thread.  Opening, reading and writing slab files is ssd.c's (and the
 * checker's, read-only).
 */
#include "slab.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"

int kvfs_slab_name(char *buf, size_t size, uint32_t i, const char *suffix)
{
	int n = snprintf(buf, size, KVFS_SLAB_PREFIX "%04u%s", i, suffix);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kvfs_slab_path(char *buf, size_t size, const char *dir, uint32_t i)
{
	int n = snprintf(buf, size, "%s/", dir);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return kvfs_slab_name(buf + n, size - (size_t)n, i, "");
}

long kvfs_slab_number(const char *name)
{
	char canon[KVFS_SLAB_NAME_MAX];
	unsigned long n;
	char *end;

	if (strncmp(name, KVFS_SLAB_PREFIX, strlen(KVFS_SLAB_PREFIX)) != 0)
		return -EINVAL;
	name += strlen(KVFS_SLAB_PREFIX);
	if (*name < '0' || *name > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(name, &end, 10);
	if (*end || errno || n >= KVFS_SLABS_MAX)
		return -EINVAL;
	/* Only the canonical spelling: "0007", never "07" or "00007". */
	kvfs_slab_name(canon, sizeof(canon), (uint32_t)n, "");
	return strcmp(canon + strlen(KVFS_SLAB_PREFIX), name) == 0 ? (long)n : -EINVAL;
}

void kvfs_slab_hdr_fill(struct kvfs_slab_hdr *h, uint64_t id, uint32_t slab,
			uint64_t slab_size)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, KVFS_SLAB_MAGIC, sizeof(h->magic));
	h->version = htole32(KVFS_SLAB_VERSION);
	h->hdr_size = htole32(KVFS_SSD_HDR);
	h->store_id = htole64(id);
	h->slab = htole64(slab);
	h->slab_size = htole64(slab_size);
	h->created = htole64((uint64_t)time(NULL));
	h->crc = htole32(kvfs_crc32c(0, h, offsetof(struct kvfs_slab_hdr, crc)));
}

int kvfs_slab_hdr_check(const struct kvfs_slab_hdr *h, uint32_t slab)
{
	uint64_t size = le64toh(h->slab_size);

	if (memcmp(h->magic, KVFS_SLAB_MAGIC, sizeof(h->magic)) != 0 ||
	    le32toh(h->crc) != kvfs_crc32c(0, h, offsetof(struct kvfs_slab_hdr, crc)) ||
	    le32toh(h->version) != KVFS_SLAB_VERSION ||
	    le32toh(h->hdr_size) != KVFS_SSD_HDR || le64toh(h->slab) != slab ||
	    size == 0 || size % KVFS_SSD_UNIT || size > KVFS_SLAB_SIZE_MAX ||
	    h->store_id == 0)
		return -EUCLEAN;
	return 0;
}
