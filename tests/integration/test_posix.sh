#!/usr/bin/env bash
# test_posix.sh - POSIX details an outside suite (pjdfstest) checks:
#   1. set-id bits: a write, an appending write, an O_TRUNC open and a
#      truncate by a caller without CAP_FSETID (uid 65534 through setpriv)
#      take S_ISUID away, and S_ISGID when the file is group-executable or
#      the writer is not in its group, with a new ctime; root's writes keep
#      them; S_ISGID without g+x stays for a member of the group.  With
#      io=auto (direct writes) and io=cached (through the page cache); on
#      an SSD tier the new mode comes back after a restart.
#   2. symbolic links: ln -s, readlink, lstat (S_IFLNK, size = target
#      length), stat and reads through the link, DT_LNK in readdir, rename,
#      unlink, a link to a directory, a dangling one, xattrs refused; cp -a
#      and tar of a tree with links round-trip; links survive a restart.
#   3. hard links, FIFOs, sockets and device nodes stay EPERM.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_cmd setpriv python3 tar
[[ $(id -u) == 0 ]] || t_skip "needs root (setpriv to uid 65534)"

M=$T_DIR/mnt
S=$T_DIR/state

# The unprivileged caller: uid/gid 65534, no supplementary groups, no
# capabilities.  It starts in the mount (no need to search $T_DIR) and
# takes paths relative to it.
as_nobody() {
	(cd "$M" && setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@")
}

mode_of() { stat -c %a -- "$1"; }
ctime_ns() { python3 -c 'import os, sys; print(os.stat(sys.argv[1]).st_ctime_ns)' "$1"; }

# errno_of OP PATH [PATH2]: the errno name of one system call, or OK.
errno_of() {
	python3 - "$@" <<'EOF'
import errno, os, socket, stat, sys
op, a = sys.argv[1], sys.argv[2]
b = sys.argv[3] if len(sys.argv) > 3 else None
try:
    if op == "link": os.link(a, b)
    elif op == "symlink": os.symlink(b, a)
    elif op == "mkfifo": os.mkfifo(a)
    elif op == "mknod-chr": os.mknod(a, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    elif op == "mknod-blk": os.mknod(a, 0o600 | stat.S_IFBLK, os.makedev(7, 0))
    elif op == "mknod-sock": os.mknod(a, 0o600 | stat.S_IFSOCK)
    elif op == "bind":
        s = socket.socket(socket.AF_UNIX); s.bind(a)
    elif op == "lsetxattr": os.setxattr(a, "user.x", b"y", follow_symlinks=False)
    elif op == "lgetxattr": os.getxattr(a, "user.kvfs.crc32c", follow_symlinks=False)
    elif op == "stat": os.stat(a)
    elif op == "open": os.close(os.open(a, os.O_RDONLY | os.O_NOFOLLOW))
    else: raise SystemExit("unknown op " + op)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
}

t_errno() {
	local want=$1 got
	shift
	got=$(errno_of "$@")
	[[ $got == "$want" ]] || t_fail "$*: expected $want, got $got"
}

# setid_case OP MODE WANT: root creates f (MODE), nobody does OP, the mode
# must read WANT (octal) and, when it changed, ctime must have moved.
setid_case() {
	local op=$1 mode=$2 want=$3 grp=${4:-0} before after
	rm -f "$M/f"
	printf 'abc' >"$M/f"
	chgrp "$grp" "$M/f"
	chmod "$mode" "$M/f"
	t_eq "$(mode_of "$M/f")" "${mode#0}" "mode of f before $op"
	before=$(ctime_ns "$M/f")
	sleep 0.02
	case $op in
	write) as_nobody dd of=f bs=1 seek=1 conv=notrunc status=none < <(printf x) ;;
	append) as_nobody sh -c 'printf x >>f' ;;
	trunc-open) as_nobody sh -c ': >f' ;;
	truncate) as_nobody truncate -s 1 f ;;
	root-write) printf x >>"$M/f" ;;
	esac
	# stat asks only for the mode (statx): the kernel's cached mode must
	# have been dropped.
	t_eq "$(mode_of "$M/f")" "$want" "mode after $op of a $mode file ($IO)"
	after=$(ctime_ns "$M/f")
	((after > before)) || t_fail "ctime did not move with $op of a $mode file ($IO)"
}

for IO in auto cached; do
	kvfs_mount "$M" "$S" "allow_other,io=$IO"
	t_require_kvfs_mount "$M"
	for op in write append trunc-open truncate; do
		setid_case "$op" 04777 777
		setid_case "$op" 02777 777
		setid_case "$op" 06777 777
		# S_ISGID without g+x (mandatory locking): a member keeps it,
		# anyone else loses it.
		setid_case "$op" 02767 2767 65534
		setid_case "$op" 02767 767 0
	done
	setid_case root-write 06777 6777
	setid_case root-write 02767 2767
	t_log "set-id bits with io=$IO: ok"
	kvfs_umount "$M"
done

# On an SSD tier the file and its new mode survive a restart.
SSD=$T_DIR/ssd
mkdir -p "$SSD"
kvfs_mount "$M" "$T_DIR/state-ssd" "allow_other,ssd=$SSD,ssd_size=64M"
printf 'abc' >"$M/kept"
chmod 06777 "$M/kept"
as_nobody sh -c 'printf x >>kept'
t_eq "$(mode_of "$M/kept")" 777 "mode after an unprivileged write (SSD tier)"
kvfs_umount "$M"
kvfs_mount "$M" "$T_DIR/state-ssd" "allow_other,ssd=$SSD,ssd_size=64M"
t_eq "$(mode_of "$M/kept")" 777 "mode of kept after the restart"
t_eq "$(cat "$M/kept")" abcx "content of kept after the restart"
kvfs_umount "$M"

# ---- symbolic links ----
kvfs_mount "$M" "$S"
t_require_kvfs_mount "$M"
mkdir "$M/dir"
printf 'hello' >"$M/dir/file.kv"
ln -s dir/file.kv "$M/l"
t_eq "$(readlink "$M/l")" dir/file.kv "readlink"
t_eq "$(stat -c '%F %s %a' "$M/l")" "symbolic link 11 777" "lstat of the link"
t_eq "$(stat -L -c '%F %s' "$M/l")" "regular file 5" "stat through the link"
t_eq "$(cat "$M/l")" hello "read through the link"
t_eq "$(stat -L -c %i "$M/l")" "$(stat -c %i "$M/dir/file.kv")" "the link leads to the file"
t_errno ELOOP open "$M/l"
ln -s dir "$M/dl"
t_eq "$(ls "$M/dl/")" file.kv "a link to a directory"
t_eq "$(cd "$M/dl" && cat file.kv)" hello "cd through a link to a directory"
ln -s /nonexistent/target "$M/dangling"
t_eq "$(readlink "$M/dangling")" /nonexistent/target "readlink of a dangling link"
t_errno ENOENT stat "$M/dangling"
t_eq "$(stat -c %F "$M/dangling")" "symbolic link" "lstat of a dangling link"
# readdir reports DT_LNK (find -type l uses d_type, python's is_symlink too).
t_eq "$(cd "$M" && find . -maxdepth 1 -type l | sort | tr '\n' ' ')" "./dangling ./dl ./l " "links in readdir"
t_eq "$(python3 -c 'import os, sys; print(" ".join(sorted(e.name for e in os.scandir(sys.argv[1]) if e.is_symlink())))' "$M")" \
	"dangling dl l" "DT_LNK entries"
# Rename: within and across directories, and over a file.
mv "$M/l" "$M/l2"
t_eq "$(readlink "$M/l2")" dir/file.kv "readlink after rename"
printf 'old' >"$M/dir/victim"
mv "$M/l2" "$M/dir/victim"
t_eq "$(stat -c %F "$M/dir/victim")" "symbolic link" "a link renamed over a file"
t_eq "$(readlink "$M/dir/victim")" dir/file.kv "its target"
rm "$M/dir/victim"
t_errno ENOENT stat "$M/dir/victim"
t_eq "$(cat "$M/dir/file.kv")" hello "unlinking a link leaves its target"
# Owner of the link itself (lchown); xattrs on links are refused.
chown -h 123:456 "$M/dangling"
t_eq "$(stat -c %u:%g "$M/dangling")" 123:456 "lchown of a link"
t_errno EPERM lsetxattr "$M/dangling"
t_errno ENODATA lgetxattr "$M/dangling"
# The control directory keeps its name; links may point at it.
t_errno EEXIST symlink "$M/.kvfs" x
ln -s .kvfs "$M/ctl"
[[ -r $M/ctl/stats.json ]] || t_fail "a link to .kvfs does not lead to the control files"
t_errno EPERM symlink "$M/.kvfs/x" y
rm "$M/ctl"

# cp -a and tar of a tree with links round-trip.
SRC=$T_DIR/src
mkdir -p "$SRC/a/b"
printf 'one' >"$SRC/a/one.kv"
printf 'two' >"$SRC/a/b/two.kv"
ln -s one.kv "$SRC/a/rel"
ln -s ../a/b "$SRC/a/todir"
ln -s /does/not/exist "$SRC/a/b/dangling"
ln -s "$(printf 'x%.0s' {1..300})" "$SRC/long"
chmod 0750 "$SRC/a/b"
touch -h -d '2001-02-03 04:05:06 UTC' "$SRC/a/rel"
# Type, path, target, mode, and size except for directories (their size
# is the filesystem's own business).
tree_of() {
	(cd "$1" && { find . -mindepth 1 ! -type d -printf '%y %p %l %m %s\n'
		      find . -mindepth 1 -type d -printf '%y %p %m\n'; } | sort)
}
cp -a "$SRC" "$M/cp"
t_eq "$(tree_of "$M/cp")" "$(tree_of "$SRC")" "cp -a into kvfs"
diff -r --no-dereference "$SRC" "$M/cp" >/dev/null || t_fail "diff -r of cp -a: $(diff -r --no-dereference "$SRC" "$M/cp" 2>&1 | head -3)"
t_eq "$(stat -c %Y "$M/cp/a/rel")" 981173106 "cp -a kept the link's mtime"
mkdir "$M/tar"
tar -C "$SRC" -cf - . | tar -C "$M/tar" -xf -
t_eq "$(tree_of "$M/tar")" "$(tree_of "$SRC")" "tar into kvfs"
tar -C "$M/tar" -cf - . | { mkdir "$T_DIR/back" && tar -C "$T_DIR/back" -xf -; }
t_eq "$(tree_of "$T_DIR/back")" "$(tree_of "$SRC")" "tar out of kvfs"
cp -a "$M/cp" "$T_DIR/cpback"
diff -r --no-dereference "$SRC" "$T_DIR/cpback" >/dev/null || t_fail "diff -r of cp -a out of kvfs"
want_tree=$(tree_of "$M/tar" | grep -v '^f ')
kvfs_umount "$M"

# After a restart the links are back (files lived in memory and are gone).
kvfs_mount "$M" "$S"
t_eq "$(readlink "$M/dl")" dir "readlink of dl after the restart"
t_eq "$(readlink "$M/dangling")" /nonexistent/target "readlink of dangling after the restart"
t_eq "$(stat -c '%F %s %u:%g' "$M/dangling")" "symbolic link 19 123:456" "lstat of dangling after the restart"
t_eq "$(tree_of "$M/tar" | grep -v '^f ')" "$want_tree" "directories and links of the tar tree after the restart"
t_eq "$(readlink "$M/tar/long" | wc -c)" 301 "a 300-byte target after the restart"
ln -s again "$M/new"
t_eq "$(readlink "$M/new")" again "a link made after the restart"
kvfs_umount "$M"

# ---- what stays refused ----
kvfs_mount "$M" "$S"
printf 'x' >"$M/target"
t_errno EPERM link "$M/target" "$M/hard"
t_errno EPERM link "$M/dl" "$M/hard"
t_errno EPERM mkfifo "$M/fifo"
t_errno EPERM mknod-chr "$M/chr"
t_errno EPERM mknod-blk "$M/blk"
t_errno EPERM mknod-sock "$M/sock"
t_errno EPERM bind "$M/sock"
t_errno ENOENT stat "$M/hard"
kvfs_umount "$M"
