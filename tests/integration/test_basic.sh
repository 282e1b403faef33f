#!/usr/bin/env bash
# test_basic.sh - what an operator does with real tools: cp, cat, ls, stat, du,
# df, mkdir, rmdir, mv, rm, getfattr, setfattr, truncate, chmod, chown, touch,
# and the name-length limit.  Asserts bytes, sizes, xattr values and errnos.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper fsop crc32c pattern
t_require_cmd getfattr setfattr

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=256M
t_require_kvfs_mount "$M"

# --- df: the mount's size is mem= --------------------------------------------
total=$(t_statfs "$M" total)
mem=$((256 << 20))
((total >= mem * 99 / 100 && total <= mem)) ||
	t_fail "df size of $M: expected about mem=256M ($mem bytes), got $total"
df -P "$M" | awk -v m="$M" 'NR == 2 && $6 == m { f = 1 } END { exit !f }' ||
	t_fail "df does not show $M: $(df -P "$M" 2>&1)"
used0=$(t_statfs "$M" used)

# --- cp a 50 MiB file in and out ----------------------------------------------
size=$((50 << 20))
"$IT/pattern" 1 "$size" >"$T_DIR/ref"
cp "$T_DIR/ref" "$M/big"
t_cmp "$T_DIR/ref" "$M/big"
cp "$M/big" "$T_DIR/out"
t_cmp "$T_DIR/ref" "$T_DIR/out"
cat "$M/big" | cmp - "$T_DIR/ref" || t_fail "cat $M/big differs from the reference"
grep -qx big <<<"$(ls "$M")" || t_fail "ls $M does not list big: $(ls "$M")"
ls -l "$M/big" | awk -v s="$size" '$5 == s { f = 1 } END { exit !f }' ||
	t_fail "ls -l big: $(ls -l "$M/big")"
t_eq "$(t_size "$M/big")" "$size" "stat size of big"
t_eq "$(stat -c %F "$M/big")" "regular file" "stat type of big"
alloc=$(du -B1 "$M/big" | cut -f1)
((alloc >= size && alloc < 2 * size)) ||
	t_fail "du -B1 big: expected allocated bytes >= $size (and < 2x), got $alloc"
t_eq "$(du -B1 --apparent-size "$M/big" | cut -f1)" "$size" "du --apparent-size big"
used1=$(t_statfs "$M" used)
((used1 - used0 >= size)) ||
	t_fail "df used grew by $((used1 - used0)) bytes after storing $size bytes"

# --- O_DIRECT (LMCache, NIXL POSIX): aligned direct writes and reads -------------
dd if="$T_DIR/ref" of="$M/direct" bs=1M count=4 oflag=direct status=none ||
	t_fail "dd oflag=direct into $M/direct failed"
dd if="$M/direct" of="$T_DIR/direct.out" bs=1M iflag=direct status=none ||
	t_fail "dd iflag=direct from $M/direct failed"
cmp -n $((4 << 20)) "$T_DIR/ref" "$T_DIR/direct.out" || t_fail "O_DIRECT round trip differs"
t_eq "$(t_size "$M/direct")" $((4 << 20)) "size of a file written with O_DIRECT"
rm "$M/direct"

# --- xattrs of a regular file ----------------------------------------------------
crc=$("$IT/crc32c" "$T_DIR/ref")
dump=$(getfattr --absolute-names -d "$M/big")
grep -qx 'user.kvfs.tier="memory"' <<<"$dump" || t_fail "getfattr -d big has no user.kvfs.tier=\"memory\": $dump"
grep -qx 'user.kvfs.hits="[0-9][0-9]*"' <<<"$dump" || t_fail "getfattr -d big has no decimal user.kvfs.hits: $dump"
grep -qx "user.kvfs.crc32c=\"$crc\"" <<<"$dump" || t_fail "getfattr -d big: expected user.kvfs.crc32c=\"$crc\": $dump"
t_eq "$(t_xattr "$M/big" user.kvfs.crc32c)" "$crc" "user.kvfs.crc32c of big"
t_eq "$(t_xattr "$M/big" user.kvfs.tier)" memory "user.kvfs.tier of big"
hits=$(t_xattr "$M/big" user.kvfs.hits)
head -c 52 "$M/big" >/dev/null
t_eq "$(t_xattr "$M/big" user.kvfs.hits)" "$((hits + 1))" "user.kvfs.hits after one more open (was $hits)"

setfattr -n user.foo -v bar "$M/big"
t_eq "$(t_xattr "$M/big" user.foo)" bar "user.foo after setfattr"
getfattr --absolute-names -d "$M/big" | grep -qx 'user.foo="bar"' || t_fail "getfattr -d does not list user.foo"
setfattr -n user.foo -v "longer value with spaces" "$M/big"
t_eq "$(t_xattr "$M/big" user.foo)" "longer value with spaces" "user.foo after replace"
setfattr -x user.foo "$M/big"
t_fsop ENODATA getxattr "$M/big" user.foo
t_fsop ENODATA removexattr "$M/big" user.foo

t_fsop ENODATA getxattr "$M/big" user.kvfs.pin
setfattr -n user.kvfs.pin -v 1 "$M/big"
t_eq "$(t_xattr "$M/big" user.kvfs.pin)" 1 "user.kvfs.pin after pinning"
setfattr -n user.kvfs.pin -v 0 "$M/big"
t_fsop ENODATA getxattr "$M/big" user.kvfs.pin
setfattr -n user.kvfs.pin -v 1 "$M/big"
setfattr -x user.kvfs.pin "$M/big"
t_fsop ENODATA getxattr "$M/big" user.kvfs.pin

"$IT/pattern" 2 4096 >"$M/child"
setfattr -n user.kvfs.parent -v big "$M/child"
t_eq "$(t_xattr "$M/child" user.kvfs.parent)" big "user.kvfs.parent after setfattr"
setfattr -x user.kvfs.parent "$M/child"
t_fsop ENODATA getxattr "$M/child" user.kvfs.parent

t_fsop EPERM setxattr "$M/big" user.kvfs.tier ssd
t_fsop EPERM setxattr "$M/big" user.kvfs.hits 7
t_fsop EPERM setxattr "$M/big" user.kvfs.crc32c 00000000
t_eq "$(t_xattr "$M/big" user.kvfs.tier)" memory "user.kvfs.tier after a refused set"
t_eq "$(t_xattr "$M/big" user.kvfs.crc32c)" "$crc" "user.kvfs.crc32c after a refused set"

# --- directories: mkdir, rmdir, mv within and across, rm ---------------------
mkdir "$M/d1" "$M/d2"
mkdir -p "$M/d1/sub/deeper"
t_fsop ENOTEMPTY rmdir "$M/d1"
t_fsop EEXIST mkdir "$M/d1"
rmdir "$M/d1/sub/deeper"
[[ -d $M/d1/sub && ! -e $M/d1/sub/deeper ]] || t_fail "rmdir d1/sub/deeper"
mv "$M/big" "$M/big2"
t_fsop ENOENT stat "$M/big"
t_cmp "$T_DIR/ref" "$M/big2"
mv "$M/big2" "$M/d1/sub/big3"
t_cmp "$T_DIR/ref" "$M/d1/sub/big3"
mv "$M/d1/sub/big3" "$M/d2/big4"
t_cmp "$T_DIR/ref" "$M/d2/big4"
t_eq "$(t_xattr "$M/d2/big4" user.kvfs.crc32c)" "$crc" "user.kvfs.crc32c after mv"
mv "$M/d1/sub" "$M/d2/sub"
[[ -d $M/d2/sub && ! -e $M/d1/sub ]] || t_fail "mv of a directory across directories"
t_eq "$(ls "$M/d2" | tr '\n' ' ')" "big4 sub " "ls d2 after the moves"
t_eq "$(ls -A "$M/d1" | wc -l)" 0 "entries left in d1"
rmdir "$M/d1"
t_fsop ENOENT stat "$M/d1"
t_fsop ENOTDIR rmdir "$M/d2/big4"
t_fsop EISDIR unlink "$M/d2"

cp "$M/d2/big4" "$M/copy"
t_cmp "$T_DIR/ref" "$M/copy"
rm "$M/d2/big4"
t_fsop ENOENT stat "$M/d2/big4"
t_cmp "$T_DIR/ref" "$M/copy"

# --- truncate -------------------------------------------------------------------
truncate -s 1000 "$M/copy"
t_eq "$(t_size "$M/copy")" 1000 "size after truncate -s 1000"
cmp -n 1000 "$M/copy" "$T_DIR/ref" || t_fail "first 1000 bytes changed by truncate"
truncate -s 5000 "$M/copy"
t_eq "$(t_size "$M/copy")" 5000 "size after truncate -s 5000"
head -c 1000 "$T_DIR/ref" >"$T_DIR/trunc"
truncate -s 5000 "$T_DIR/trunc"
t_cmp "$T_DIR/trunc" "$M/copy"
t_eq "$(t_xattr "$M/copy" user.kvfs.crc32c)" "$("$IT/crc32c" "$T_DIR/trunc")" \
	"user.kvfs.crc32c after truncate (1000 bytes kept, extended to 5000 with zeros)"
truncate -s 0 "$M/copy"
t_eq "$(t_size "$M/copy")" 0 "size after truncate -s 0"
t_eq "$(t_xattr "$M/copy" user.kvfs.crc32c)" 00000000 "user.kvfs.crc32c of an empty file"

# --- chmod, chown, touch ----------------------------------------------------------
chmod 600 "$M/copy"
t_eq "$(stat -c %a "$M/copy")" 600 "mode after chmod 600"
chmod 0755 "$M/d2"
t_eq "$(stat -c %a "$M/d2")" 755 "mode of d2 after chmod 755"
chown 1234:5678 "$M/copy"
t_eq "$(stat -c %u:%g "$M/copy")" 1234:5678 "owner after chown 1234:5678"
touch -m -d '2001-02-03 04:05:06 UTC' "$M/copy"
t_eq "$(stat -c %Y "$M/copy")" 981173106 "mtime after touch -m -d"
touch -a -d '2002-03-04 05:06:07 UTC' "$M/copy"
t_eq "$(stat -c %X "$M/copy")" 1015218367 "atime after touch -a -d"
t_eq "$(stat -c %Y "$M/copy")" 981173106 "mtime after touch -a"
touch -d '2003-01-01 00:00:00.5 UTC' "$M/d2"
t_eq "$(stat -c %Y "$M/d2")" 1041379200 "mtime of a directory after touch -d"
before=$(date +%s)
touch "$M/copy"
(($(stat -c %Y "$M/copy") >= before)) || t_fail "touch did not set mtime to now"
touch "$M/new-empty"
t_eq "$(t_size "$M/new-empty")" 0 "size of a file made by touch"

# --- name length: 255 bytes work, 256 are ENAMETOOLONG -------------------------
n255=$(printf 'a%.0s' {1..255})
n256=${n255}b
t_fsop OK creat "$M/$n255"
echo hello >"$M/$n255"
t_eq "$(cat "$M/$n255")" hello "content of a file with a 255-byte name"
grep -qx "$n255" <<<"$(ls "$M")" || t_fail "ls does not list the 255-byte name"
t_fsop ENAMETOOLONG creat "$M/$n256"
t_fsop ENAMETOOLONG stat "$M/$n256"
t_fsop ENAMETOOLONG mkdir "$M/$n256"
t_fsop ENAMETOOLONG rename "$M/$n255" "$M/$n256"
t_fsop OK mkdir "$M/d2/$n255"
rm "$M/$n255"
rmdir "$M/d2/$n255"

# --- rm everything: the space comes back ---------------------------------------------
rm -rf "${M:?}"/*
t_eq "$(ls -A "$M" | wc -l)" 0 "entries left after rm -rf"
for ((i = 0; i < 50; i++)); do
	used2=$(t_statfs "$M" used)
	((used2 - used0 < size / 2)) && break
	sleep 0.1
done
((used2 - used0 < size / 2)) ||
	t_fail "df used is still $used2 bytes (was $used0 when empty) after rm -rf"
kvfs_alive "$M"
kvfs_umount "$M"
