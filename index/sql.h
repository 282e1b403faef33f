/*
 * sql.h - the one translation of SQLite result codes to -errno, used by the
 * index (index.c) and the offline check (check.c, check_ssd.c) alike, so
 * that the daemon and kvfsctl report the same failure the same way.
 * Internal to index/: nothing outside it sees an SQLite code.
 */
#ifndef KVFS_SQL_H
#define KVFS_SQL_H

#include <sqlite3.h>

/*
 * 0 for SQLITE_OK, SQLITE_ROW and SQLITE_DONE, else -errno (never 0 for an
 * error; extended codes map as their primary code).  `db`, when given, is
 * the connection that failed: it supplies the system errno behind
 * SQLITE_CANTOPEN.  Any thread; reads only `db`'s last error.
 */
int kvfs_sql_errno(sqlite3 *db, int rc);

#endif
