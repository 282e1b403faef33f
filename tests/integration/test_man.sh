#!/usr/bin/env bash
# test_man.sh - the man pages: each renders with `man -l` without a warning,
# and each still describes what the code has: every kvfs -o option (from
# kvfs --help), every kvfsctl command (from kvfsctl --help), every
# user.kvfs.* attribute (from fs/xattr.c), every control file (from
# fs/ctl.c) and every function of gpu/kvfs_gpu.h.  No FUSE mount needed.
. "$(dirname "$0")/lib.sh"
t_require_cmd man groff
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$ROOT/man
export LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat

# t_render PAGE: the page as text, in $T_DIR/PAGE.txt; fails on any warning.
t_render() {
	local page=$1 warn
	[[ -f $MAN/$page ]] || t_fail "man/$page is missing"
	warn=$(man --warnings -l "$MAN/$page" 2>&1 >"$T_DIR/$page.txt") ||
		t_fail "man -l man/$page failed: $warn"
	[[ -z $warn ]] || t_fail "man -l man/$page warns: $warn"
	grep -q '^NAME' "$T_DIR/$page.txt" || t_fail "man/$page has no NAME section"
	# Rendered lines fit the 80 columns asked for.
	awk 'length > 80 { bad = 1 } END { exit bad }' "$T_DIR/$page.txt" ||
		t_fail "man/$page renders lines over 80 columns"
}

# t_mentions PAGE WORD...: each WORD appears in the rendered PAGE.
t_mentions() {
	local page=$1 w
	shift
	for w; do
		grep -qF -- "$w" "$T_DIR/$page.txt" || t_fail "man/$page does not mention '$w'"
	done
}

for page in kvfs.8 kvfsctl.8 mount.kvfs.8 libkvfs-gpu.3; do
	t_render "$page"
done

# kvfs(8) and mount.kvfs(8): every option of the daemon.
[[ -x $BUILD/kvfs ]] || t_fail "$BUILD/kvfs is missing (run make)"
mapfile -t opts < <("$BUILD/kvfs" --help 2>&1 | sed -n 's/^    -o \([a-z_]*\)=.*/\1=/p')
((${#opts[@]} >= 6)) || t_fail "kvfs --help lists only ${#opts[@]} options: ${opts[*]}"
t_mentions kvfs.8 "${opts[@]}"
t_mentions mount.kvfs.8 "${opts[@]}"

# kvfs(8): every kvfs attribute and every control file.
mapfile -t attrs < <(grep -o '\[KV_[A-Z_]*\] = "[a-z0-9_]*"' "$ROOT/fs/xattr.c" |
	sed 's/.*"\(.*\)"/user.kvfs.\1/')
((${#attrs[@]} >= 5)) || t_fail "found only ${#attrs[@]} kvfs attributes in fs/xattr.c"
t_mentions kvfs.8 "${attrs[@]}"
mapfile -t ctls < <(sed -n 's/^\t{ "\([a-z.]*\)", KVFS_CTL_[A-Z_]* },$/.kvfs\/\1/p' "$ROOT/fs/ctl.c")
((${#ctls[@]} == 4)) || t_fail "found ${#ctls[@]} control files in fs/ctl.c, expected 4"
t_mentions kvfs.8 "${ctls[@]}"

# kvfsctl(8): every command of kvfsctl --help.
[[ -x $BUILD/kvfsctl ]] || t_fail "$BUILD/kvfsctl is missing (run make)"
mapfile -t cmds < <("$BUILD/kvfsctl" --help | sed -n 's/^  \([a-z]\{2,\}\) .*/\1/p')
((${#cmds[@]} >= 7)) || t_fail "kvfsctl --help lists only ${#cmds[@]} commands: ${cmds[*]}"
for c in "${cmds[@]}"; do
	t_mentions kvfsctl.8 "kvfsctl $c"
done
t_mentions kvfsctl.8 unpin "EXIT STATUS"

# libkvfs-gpu(3): every function the header declares.
H=$ROOT/gpu/kvfs_gpu.h
if [[ -f $H ]]; then
	mapfile -t fns < <(grep -o '\bkvfs_gpu_[a-z_]*(' "$H" | tr -d '(' | sort -u)
	((${#fns[@]} >= 5)) || t_fail "found only ${#fns[@]} functions in $H"
	t_mentions libkvfs-gpu.3 "${fns[@]}"
else
	t_log "gpu/kvfs_gpu.h is missing: libkvfs-gpu(3) not compared with it"
fi
t_log "ok ($(t_elapsed))"
