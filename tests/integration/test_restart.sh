#!/usr/bin/env bash
# test_restart.sh - what survives a restart (docs/CONTRACT-cli.md): the
# directory tree, its metadata (mode, owner, mtime) and xattrs come back from
# the state directory; regular files come back from the memory tier a clean
# exit kept, and are dropped when that memory is gone (a reboot) or was never
# marked (SIGKILL);
# changes made after a restart persist across the next one; a new daemon takes
# the state directory after the old one was killed with SIGKILL.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper fsop pattern
t_require_cmd getfattr setfattr

M=$T_DIR/mnt
S=$T_DIR/state
kvfs_mount "$M" "$S" mem=128M
t_require_kvfs_mount "$M"

mkdir -p "$M/a/b/c" "$M/d" "$M/e/f"
chmod 0700 "$M/a/b"
chmod 0751 "$M/d"
chown 1234:5678 "$M/d"
setfattr -n user.model -v llama-70b "$M/a"
setfattr -n user.note -v "two words" "$M/a/b/c"
setfattr -n user.empty -v "" "$M/e"
"$IT/pattern" 1 3M >"$M/a/file1.kv"
"$IT/pattern" 2 100 >"$M/top.bin"
setfattr -n user.foo -v bar "$M/top.bin"
touch -m -d '2001-02-03 04:05:06 UTC' "$M/d"
du_before=$(t_statfs "$M" used)
kvfs_umount "$M"

# A clean restart adopts the memory tier the daemon kept in $S/mem
# (docs/design.md, "The memory tier"): the files come back, bytes and
# xattrs, read from memory.
grep -qs " $S/mem tmpfs " /proc/mounts || t_fail "no memory tier kept in $S/mem after a clean unmount"
kvfs_mount "$M" "$S" mem=128M
t_require_kvfs_mount "$M"
"$IT/pattern" 1 3M | cmp - "$M/a/file1.kv" || t_fail "a/file1.kv after a clean restart"
"$IT/pattern" 2 100 | cmp - "$M/top.bin" || t_fail "top.bin after a clean restart"
t_eq "$(t_xattr "$M/top.bin" user.foo)" bar "user.foo of top.bin after a clean restart"
grep -q "memory tier: 2 files kept by the last run adopted" "${T_LOG[$M]}" ||
	t_fail "the daemon did not say it adopted 2 files: $(cat "${T_LOG[$M]}")"
kvfs_umount "$M"
# A reboot loses memory: what is left is the index.
t_release_mem "$T_DIR"

kvfs_mount "$M" "$S" mem=128M
t_require_kvfs_mount "$M"
for d in a a/b a/b/c d e e/f; do
	[[ -d $M/$d ]] || t_fail "directory $d did not come back after the restart"
done
t_eq "$(cd "$M" && find . -mindepth 1 | sort | tr '\n' ' ')" "./a ./a/b ./a/b/c ./d ./e ./e/f " "the tree after the restart (files dropped)"
t_fsop ENOENT stat "$M/a/file1.kv"
t_fsop ENOENT stat "$M/top.bin"
t_eq "$(stat -c %a "$M/a/b")" 700 "mode of a/b after the restart"
t_eq "$(stat -c %a "$M/d")" 751 "mode of d after the restart"
t_eq "$(stat -c %u:%g "$M/d")" 1234:5678 "owner of d after the restart"
t_eq "$(stat -c %Y "$M/d")" 981173106 "mtime of d after the restart"
t_eq "$(t_xattr "$M/a" user.model)" llama-70b "user.model of a after the restart"
t_eq "$(t_xattr "$M/a/b/c" user.note)" "two words" "user.note of a/b/c after the restart"
t_eq "$(t_fsop_out getxattr "$M/e" user.empty)" "" "the empty user.empty of e after the restart"
t_eq "$(t_fsop_out listxattr "$M/a")" "user.model" "listxattr of a after the restart"
used=$(t_statfs "$M" used)
((used < 3 << 20)) || t_fail "df used is $used bytes after the restart dropped the files (was $du_before)"

# New files work, including under the old names.
"$IT/pattern" 3 2M >"$T_DIR/ref"
cp "$T_DIR/ref" "$M/a/file1.kv"
t_cmp "$T_DIR/ref" "$M/a/file1.kv"
echo new >"$M/new"
t_eq "$(cat "$M/new")" new "a file created after the restart"

# Changes after the restart persist across the next one.
rmdir "$M/e/f"
mv "$M/a/b" "$M/d/b2"
setfattr -x user.model "$M/a"
setfattr -n user.model -v qwen "$M/d/b2"
mkdir "$M/g"
chmod 0705 "$M/g"
kvfs_umount "$M"

kvfs_mount "$M" "$S" mem=128M
t_eq "$(cd "$M" && find . -mindepth 1 | sort | tr '\n' ' ')" "./a ./a/file1.kv ./d ./d/b2 ./d/b2/c ./e ./g ./new " "the tree after the second restart (files kept)"
t_cmp "$T_DIR/ref" "$M/a/file1.kv"
t_fsop ENODATA getxattr "$M/a" user.model
t_eq "$(t_xattr "$M/d/b2" user.model)" qwen "user.model of the moved directory"
t_eq "$(t_xattr "$M/d/b2/c" user.note)" "two words" "user.note under the moved directory"
t_eq "$(stat -c %a "$M/d/b2")" 700 "mode of the moved directory"
t_eq "$(stat -c %a "$M/g")" 705 "mode of g"

# SIGKILL: the lock dies with the daemon; a new one takes the state
# directory.  Memory it never marked is not adopted (nothing says its bytes
# match their rows): the memory-only file is gone.
"$IT/pattern" 4 1M >"$M/killed.kv"
pid=${T_PID[$M]}
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
unset 'T_PID[$M]'
fusermount3 -u "$M" 2>/dev/null || fusermount3 -u -z "$M"
kvfs_mount "$M" "$S" mem=128M
[[ -d $M/d/b2/c ]] || t_fail "d/b2/c (persisted before the previous clean unmount) is gone after SIGKILL + restart"
t_fsop ENOENT stat "$M/killed.kv"
echo after-kill >"$M/k"
t_eq "$(cat "$M/k")" after-kill "a file created after a restart that followed SIGKILL"
kvfs_umount "$M"
