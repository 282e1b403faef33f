#!/usr/bin/env bash
# test_publish.sh - publish-on-close (docs/CONTRACT-cli.md): an unpublished file
# is invisible to other processes (ENOENT, absent from readdir, EBUSY on
# create), visible to all threads of its creator, and published whole when the
# last writable handle closes; rename-over-final and write-to-final publishing
# never show another process a partial file.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper publish

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=256M
t_require_kvfs_mount "$M"

mkdir "$M/vis" "$M/ren" "$M/dir" "$M/hand"
# All three run even if one fails, so one run reports everything.
failed=()
"$IT/publish" visibility "$M/vis" || failed+=(visibility)
kvfs_alive "$M"
"$IT/publish" rename "$M/ren" 100 || failed+=(rename)
kvfs_alive "$M"
"$IT/publish" direct "$M/dir" 100 || failed+=(direct)
kvfs_alive "$M"
# Each of the 200 closes waited for its release; the 40 whose descriptor a
# child still held were settled by reading A's descriptors.
deferred0=$(t_stat "$M" namespace closes_deferred)
scanned0=$(t_stat "$M" namespace closes_scanned)
"$IT/publish" handoff "$M/hand" 200 || failed+=(handoff)
kvfs_alive "$M"
deferred=$(($(t_stat "$M" namespace closes_deferred) - deferred0))
scanned=$(($(t_stat "$M" namespace closes_scanned) - scanned0))
((deferred >= 200 && scanned >= 40 && scanned <= deferred)) ||
	t_fail "handoff: $deferred closes deferred (want >= 200), $scanned settled by a scan (want 40 or a few more)"
((${#failed[@]} == 0)) || t_fail "publish ${failed[*]}: see the FAIL lines above"

# The same with shell tools: this shell keeps the file open on fd 3 and other
# processes stat it.  Note that `printf >&3` is dup2(3, 1), write, dup2(saved,
# 1): the second dup2 closes a copy of the descriptor (a FLUSH), while fd 3,
# the open file, stays open for writing, so the file must stay unpublished.
exec 3>"$M/held"
printf 'hello' >&3
t_fsop ENOENT stat "$M/held" 3>&-
grep -qx held <<<"$(ls "$M" 3>&-)" && t_fail "ls lists a file another process holds open for writing"
exec 3>&-
t_eq "$(cat "$M/held")" hello "content after the writer closed"
grep -qx held <<<"$(ls "$M")" || t_fail "ls does not list the file after the writer closed"
kvfs_umount "$M"
