#!/usr/bin/env bash
# test_rename_unlink.sh - atomic rename-replace under an open reader, the
# renameat2 flags (RENAME_NOREPLACE, RENAME_EXCHANGE), and unlink of an open
# file: handles keep working until the last close, then the space is freed.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper renopen fsop pattern

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=256M
t_require_kvfs_mount "$M"

mkdir "$M/replace" "$M/unlink" "$M/flags" "$M/flags/sub"
"$IT/renopen" replace "$M/replace" || t_fail "renopen replace (see FAIL lines above)"
kvfs_alive "$M"
"$IT/renopen" unlink "$M/unlink" || t_fail "renopen unlink (see FAIL lines above)"
kvfs_alive "$M"

F=$M/flags
"$IT/pattern" 3 100000 >"$T_DIR/a"
"$IT/pattern" 4 200001 >"$T_DIR/b"
cp "$T_DIR/a" "$F/a"
cp "$T_DIR/b" "$F/b"

# RENAME_NOREPLACE: EEXIST when the target exists, nothing changes.
t_fsop EEXIST rename "$F/a" "$F/b" noreplace
t_cmp "$T_DIR/a" "$F/a"
t_cmp "$T_DIR/b" "$F/b"
t_fsop OK rename "$F/a" "$F/c" noreplace
t_fsop ENOENT stat "$F/a"
t_cmp "$T_DIR/a" "$F/c"
t_fsop OK rename "$F/c" "$F/a" noreplace

# RENAME_EXCHANGE: both names stay, contents swap.
t_fsop OK rename "$F/a" "$F/b" exchange
t_cmp "$T_DIR/b" "$F/a"
t_cmp "$T_DIR/a" "$F/b"
t_eq "$(t_size "$F/a")" 200001 "size of a after the exchange"
t_eq "$(t_xattr "$F/a" user.kvfs.crc32c)" "$("$IT/crc32c" "$T_DIR/b")" "user.kvfs.crc32c of a after the exchange"
t_fsop ENOENT rename "$F/a" "$F/missing" exchange
t_cmp "$T_DIR/b" "$F/a"
# A file with a directory, and across directories.
t_fsop OK rename "$F/a" "$F/sub" exchange
t_eq "$(stat -c %F "$F/a")" directory "type of a after exchanging it with the directory sub"
t_cmp "$T_DIR/b" "$F/sub"
t_fsop OK rename "$F/sub" "$F/a" exchange
t_eq "$(stat -c %F "$F/sub")" directory "type of sub after exchanging back"
cp "$T_DIR/a" "$F/sub/inner"
t_fsop OK rename "$F/a" "$F/sub/inner" exchange
t_cmp "$T_DIR/a" "$F/a"
t_cmp "$T_DIR/b" "$F/sub/inner"

# Plain rename over an existing file and over directories.
t_fsop OK rename "$F/a" "$F/sub/inner"
t_cmp "$T_DIR/a" "$F/sub/inner"
t_fsop ENOENT stat "$F/a"
mkdir "$F/e1" "$F/e2"
touch "$F/e2/x"
t_fsop ENOTEMPTY rename "$F/e1" "$F/e2"
t_fsop EISDIR rename "$F/sub/inner" "$F/e1"
t_fsop ENOTDIR rename "$F/e1" "$F/sub/inner"
rm "$F/e2/x"
t_fsop OK rename "$F/e1" "$F/e2"
t_fsop ENOENT stat "$F/e1"
t_fsop EINVAL rename "$F/sub" "$F/sub/newsub"
t_eq "$("$IT/fsop" readdir "$F")" "OK b e2 sub" "names in flags/ at the end"
t_eq "$("$IT/fsop" readdir "$F/sub")" "OK inner" "names in flags/sub at the end"
kvfs_alive "$M"
kvfs_umount "$M"
