/*
 * sql.c - SQLite result codes to -errno: one table for index/ (see sql.h).
 * Owns nothing, takes no lock; any thread.
 *
 * Each entry is the errno a POSIX caller of the same failure would see:
 *   FULL                 ENOSPC  the disk is full.
 *   IOERR                EIO     the read or write beneath failed.
 *   CORRUPT, NOTADB      EIO     the file's content is not a sound
 *                                database: data damage, as a bad block is.
 *   BUSY, LOCKED         EBUSY   another connection or process holds it.
 *   NOMEM                ENOMEM
 *   READONLY             EROFS   a write to a database opened or mounted
 *                                read-only.
 *   PERM, AUTH           EACCES  SQLITE_PERM is the database file's access
 *                                permissions refusing the mode asked for:
 *                                EACCES is POSIX's "denied by the file's
 *                                permission bits" (open(2)); EPERM means an
 *                                operation reserved to privilege, which no
 *                                SQLite code says.  SQLITE_AUTH (an
 *                                authorizer's refusal; kvfs sets none) is
 *                                the same kind of denial.
 *   CONSTRAINT           EEXIST  a UNIQUE or PRIMARY KEY row already there:
 *                                the index's only constraints are those.
 *   CANTOPEN             the system errno behind it when `db` has one:
 *                                ENOENT (or ENOTDIR: a path component
 *                                missing), EROFS; else EACCES.
 *   anything else        EIO     a failure the caller cannot act on
 *                                otherwise (MISUSE, SCHEMA, TOOBIG...).
 */
#include "sql.h"

#include <errno.h>

int kvfs_sql_errno(sqlite3 *db, int rc)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
		return 0;
	case SQLITE_FULL:       return -ENOSPC;
	case SQLITE_IOERR:      return -EIO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:     return -EIO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:     return -EBUSY;
	case SQLITE_NOMEM:      return -ENOMEM;
	case SQLITE_READONLY:   return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:       return -EACCES;
	case SQLITE_CONSTRAINT: return -EEXIST;
	case SQLITE_CANTOPEN:
		e = db ? sqlite3_system_errno(db) : 0;
		if (e == ENOENT || e == ENOTDIR)
			return -ENOENT;
		return e == EROFS ? -EROFS : -EACCES;
	default:
		return -EIO;
	}
}
