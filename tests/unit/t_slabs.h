/*
 * t_slabs.h - what the unit tests that damage or inspect an SSD store
 * share (test_check.c, test_store.c): where a stored chunk lies, read from
 * the committed index row with SQL, and a flipped byte at an SSD offset.
 * Include after <cmocka.h>; the slab layout is fs/ssd.h's.
 */
#ifndef KVFS_T_SLABS_H
#define KVFS_T_SLABS_H

#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "map.h"
#include "ssd.h"

/* Bytes per slab file (header and data), from slab 0's header. */
static inline uint64_t t_slab_stride(const char *ssd_dir)
{
	struct kvfs_slab_hdr h;
	char path[512];
	int fd;

	assert_int_equal(kvfs_slab_path(path, sizeof(path), ssd_dir, 0), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	return KVFS_SSD_HDR + h.slab_size; /* little-endian host */
}

/* The SSD offset of chunk k of row id, from the map committed in the
 * index database at db_path. */
static inline uint64_t t_map_soff(const char *db_path, uint64_t id, uint32_t k)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct kvfs_map m;
	uint64_t soff;

	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT map FROM inodes WHERE id = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(kvfs_map_decode(sqlite3_column_blob(st, 0),
					 (size_t)sqlite3_column_bytes(st, 0), &m), 0);
	assert_true(k < m.n);
	soff = m.c[k].soff;
	kvfs_map_release(&m);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return soff;
}

/* Flips one byte of the store in ssd_dir at SSD offset soff, durably. */
static inline void t_flip_byte(const char *ssd_dir, uint64_t soff)
{
	uint64_t stride = t_slab_stride(ssd_dir);
	unsigned char b;
	char path[512];
	int fd;

	assert_int_equal(kvfs_slab_path(path, sizeof(path), ssd_dir,
					(uint32_t)(soff / stride)), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)(soff % stride)), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)(soff % stride)), 1);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

#endif
