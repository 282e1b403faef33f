#!/usr/bin/env bash
# test_warm.sh - the warm reserve (prefault=1, backing.h): the daemon holds
# the memory tier's free room as touched pages and frees them just before
# the tier allocates, so tier + reserve stay within mem=.  mem=64M: the
# reserve fills to 64 MiB; a 16 MiB file is lent pages and the reserve
# settles at what is left; more files shrink it; unlinking them grows it
# back; a writer's pages given at its open and not used go back at its
# close; a writer that keeps growing is given more as it writes; small
# files share what they are lent; prefault=0 holds nothing.  Every file
# reads back intact.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern

M=$T_DIR/mnt
MIB=$((1 << 20))

# warm MNT: "held lent used" (bytes): the reserve now, what it has lent in
# all, and the memory tier's use.
warm() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(j["memory_warm_bytes"], j["memory_lent_bytes"], j["tiers"]["memory"]["used_bytes"])' \
		"$1/.kvfs/stats.json"
}

# settle MNT WHAT: waits (10 s at most) until the reserve holds the tier's
# free room in whole 2 MiB units: mem= - used, rounded down.  (While the
# kernel writes, the tier may grow past that for one of the reserve's
# 20 ms looks: the pages it gives back are what the writer takes next.)
settle() {
	local i held lent used want
	for ((i = 0; i < 100; i++)); do
		read -r held lent used < <(warm "$1")
		want=$(((64 * MIB - used) / (2 * MIB) * (2 * MIB)))
		((want < 0)) && want=0
		((held == want)) && return 0
		sleep 0.1
	done
	t_fail "$2: the reserve holds $held bytes, not the tier's free $want (used $used)"
}

kvfs_mount "$M" "$T_DIR/state" "mem=64M"
t_require_kvfs_mount "$M"
settle "$M" "after mount"
read -r held lent used < <(warm "$M")
t_eq "$held" $((64 * MIB)) "the reserve of an empty mem=64M"
t_eq "$lent" 0 "bytes lent before any write"

"$IT/pattern" 1 16M >"$T_DIR/a.ref"
cp "$T_DIR/a.ref" "$M/a.kv"
read -r held lent used < <(warm "$M")
((lent >= 8 * MIB)) || t_fail "a 16 MiB write was lent $lent bytes of the reserve"
settle "$M" "after 16 MiB"
t_cmp "$M/a.kv" "$T_DIR/a.ref"

"$IT/pattern" 2 40M >"$T_DIR/b.ref"
cp "$T_DIR/b.ref" "$M/b.kv"
settle "$M" "after 56 MiB"
read -r held lent used < <(warm "$M")
((held <= 8 * MIB)) || t_fail "the reserve holds $held bytes beside 56 MiB of files in mem=64M"
t_cmp "$M/a.kv" "$T_DIR/a.ref"
t_cmp "$M/b.kv" "$T_DIR/b.ref"

rm "$M/a.kv" "$M/b.kv"
settle "$M" "after the unlinks"
read -r held lent used < <(warm "$M")
t_eq "$held" $((64 * MIB)) "the reserve once the files are gone"

# A bound writer of new content is given its pages at its open, as many
# as the largest recent file (40 MiB here); what it leaves unused goes
# back at its close: a 3 MiB + 5 KiB file holds at most its bytes and one
# huge page, and the tier's use says the same.
"$IT/pattern" 3 3149824 >"$T_DIR/c.ref"
cp "$T_DIR/c.ref" "$M/c.kv"
t_cmp "$M/c.kv" "$T_DIR/c.ref"
blocks=$(($(stat -c %b "$M/c.kv") * 512))
((blocks <= 3149824 + 2 * MIB)) || t_fail "c.kv (3149824 bytes) holds $blocks bytes after its close"
read -r held lent used < <(warm "$M")
((used <= 3149824 + 2 * MIB)) || t_fail "the tier uses $used bytes for one file of 3149824"
# Giving the pages back leaves the file's times alone (tmpfs moves a
# file's mtime for pages past its end too): mtime after the last write,
# before the close, is mtime after the release.
python3 - "$M/d.kv" "$T_DIR/c.ref" <<'PY' || t_fail "mtime moved after the close"
import os, sys, time
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data)
before = os.fstat(fd).st_mtime_ns
os.close(fd)
time.sleep(0.3)  # the release, which trims, may come after close(2) returns
after = os.stat(sys.argv[1]).st_mtime_ns
assert before == after, (before, after)
PY
t_cmp "$M/d.kv" "$T_DIR/c.ref"
rm "$M/c.kv" "$M/d.kv"

# A writer that outgrows what its open was lent (3 MiB after c.kv and
# d.kv) is fed pages ahead of its end from the reserve while it writes,
# in many calls (backing.h, kvfs_data_feed), where it is bound (a
# daemon-served writer's pages are lent at each write); its close gives
# back what it did not use, and its bytes and mtime are its own.
pt0=$(t_stat "$M" io opens_passthrough)
fed0=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory_fed_bytes"])' "$M/.kvfs/stats.json")
"$IT/pattern" 4 40M >"$T_DIR/e.ref"
python3 - "$M/e.kv" "$T_DIR/e.ref" <<'PY' || t_fail "the fed writer's mtime moved after its close"
import os, sys, time
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for off in range(0, len(data), 1 << 20):
    os.write(fd, data[off:off + (1 << 20)])
    time.sleep(0.002)
before = os.fstat(fd).st_mtime_ns
os.close(fd)
time.sleep(0.3)
after = os.stat(sys.argv[1]).st_mtime_ns
assert before == after, (before, after)
PY
fed1=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory_fed_bytes"])' "$M/.kvfs/stats.json")
if (($(t_stat "$M" io opens_passthrough) > pt0)); then
	((fed1 - fed0 >= 4 * MIB)) || t_fail "a bound 40 MiB writer in 1 MiB calls was fed $((fed1 - fed0)) bytes"
else
	t_eq "$fed1" "$fed0" "bytes fed to a daemon-served writer"
fi
t_cmp "$M/e.kv" "$T_DIR/e.ref"
blocks=$(($(stat -c %b "$M/e.kv") * 512))
((blocks <= 40 * MIB)) || t_fail "e.kv (40 MiB) holds $blocks bytes after its close"
rm "$M/e.kv"

# Small files share the units they are lent (backing.h, kvfs_mem_lend):
# once the writers' hint has come down from e.kv's 40 MiB (100 files of
# 64 KiB), 64 more are lent about their 4 MiB, not a 2 MiB unit each.

# small_files DIR FIRST N: DIR/pFIRST.. of 64 KiB, each byte i % 251.
small_files() {
	python3 - "$@" <<'PY'
import os, sys
d, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(first, first + n):
    with open(os.path.join(d, "p%d" % i), "wb") as f:
        f.write(bytes([i % 251]) * 65536)
PY
}

mkdir "$M/small"
small_files "$M/small" 0 100
settle "$M" "after 100 small files"
read -r held lent0 used < <(warm "$M")
small_files "$M/small" 100 64
read -r held lent used < <(warm "$M")
((lent - lent0 <= 8 * MIB)) ||
	t_fail "64 files of 64 KiB were lent $((lent - lent0)) bytes of the reserve"
t_eq "$(od -An -tu1 -N1 -j65535 "$M/small/p163" | tr -d ' ')" $((163 % 251)) "the last small file's last byte"
rm -r "$M/small"
kvfs_umount "$M"

kvfs_mount "$M" "$T_DIR/state" "mem=64M,prefault=0"
t_require_kvfs_mount "$M"
cp "$T_DIR/a.ref" "$M/a.kv"
sleep 0.5
read -r held lent used < <(warm "$M")
t_eq "$held $lent" "0 0" "the reserve with prefault=0 (held, lent)"
t_cmp "$M/a.kv" "$T_DIR/a.ref"
kvfs_umount "$M"
t_log "done ($(t_elapsed))"
