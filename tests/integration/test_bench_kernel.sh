#!/usr/bin/env bash
# test_bench_kernel.sh - kvfs-bench's measurements of issue 12's (a) bases,
# run small on a real mount: the kernel's own tmpfs write with pages lent
# from a reserve (--kernel-tier/--kernel-reserve) and (a)'s warm read
# against a disk directory's page cache.  Checks that they run, land in the
# JSON with their ratios, and clean up; not their speed.  And that bad
# arguments stop the driver with a message, not a crash.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_cmd python3
[[ $(id -u) == 0 ]] || t_skip "needs root: mounts two tmpfs with huge="
BENCH=$BUILD/kvfs-bench
[[ -x $BENCH ]] || t_fail "$BENCH is missing (make builds tools/kvfs-bench.c)"

MNT=$T_DIR/mnt
kvfs_mount "$MNT" "$T_DIR/state" mem=512M
for d in ktier kres; do
	mkdir -p "$T_DIR/$d"
	huge=within_size
	[[ $d == kres ]] && huge=always
	mount -t tmpfs -o "size=256M,huge=$huge" kvfs-test "$T_DIR/$d" ||
		t_fail "mount tmpfs huge=$huge on $T_DIR/$d"
	T_OTHER_MOUNTS+=("$T_DIR/$d")
done
mkdir -p "$T_DIR/disk"

small=(--repeat 1 --a-size 8M --b-files 2 --b-size 1M --probes 4 --h-files 0
	--settle 0 --retries 0)

# Either option alone, or a reserve that is not a directory: one message.
out=$("$BENCH" "${small[@]}" --kernel-tier "$T_DIR/ktier" kvfs="$MNT" 2>&1) &&
	t_fail "kvfs-bench ran with --kernel-tier alone"
grep -q -- '--kernel-tier and --kernel-reserve go together' <<<"$out" ||
	t_fail "kvfs-bench with --kernel-tier alone said: $out"
out=$("$BENCH" "${small[@]}" --kernel-tier "$T_DIR/ktier" --kernel-reserve "$T_DIR/nowhere" \
	kvfs="$MNT" 2>&1) && t_fail "kvfs-bench ran with a missing --kernel-reserve"
grep -q -- '--kernel-reserve: create' <<<"$out" ||
	t_fail "kvfs-bench with a missing --kernel-reserve said: $out"

out=$("$BENCH" "${small[@]}" --kernel-tier "$T_DIR/ktier" --kernel-reserve "$T_DIR/kres" \
	--json "$T_DIR/r.json" kvfs="$MNT" disk="$T_DIR/disk" 2>&1) ||
	t_fail "kvfs-bench failed: $(tail -n 5 <<<"$out")"
grep -q "into the kernel's own tmpfs" <<<"$out" ||
	t_fail "kvfs-bench printed no line for the kernel's own tmpfs"
check=$(python3 - "$T_DIR/r.json" <<'EOF2'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
k = r.get("kernel_tmpfs_write", {}).get("mbps", {}).get("runs", [])
if len(k) != 1 or not k[0] > 0:
    bad.append("kernel_tmpfs_write runs %r" % (k,))
warm = {t["label"]: t["metrics"].get("a_read_warm_mbps", {}).get("median")
        for t in r["targets"]}
for t in ("kvfs", "disk"):
    if not (warm.get(t) or 0) > 0:
        bad.append("%s a_read_warm_mbps %r" % (t, warm.get(t)))
names = {x["name"] for x in r["ratios"] if x["target"] == "kvfs"}
for n in ("a_write_vs_kernel_tmpfs", "a_write_vs_disk", "a_read_warm_vs_disk"):
    if n not in names:
        bad.append("no ratio " + n)
goals = {x["name"]: x.get("goal") for x in r["ratios"]}
if goals.get("a_read_warm_vs_disk") != 1.0 or goals.get("a_write_vs_kernel_tmpfs") is not None:
    bad.append("goals %r" % goals)
print("; ".join(bad))
EOF2
) 2>&1 || t_fail "reading $T_DIR/r.json: $check"
[[ -z $check ]] || t_fail "results.json: $check"

# Nothing left behind: the reserve file, (a)'s file, the work directories.
left=$(find "$T_DIR/kres" "$T_DIR/ktier" "$MNT" "$T_DIR/disk" -mindepth 1 -maxdepth 1 \
	! -name lost+found ! -name .kvfs)
[[ -z $left ]] || t_fail "kvfs-bench left behind: $left"
kvfs_alive "$MNT"
kvfs_umount "$MNT"
t_log "ok ($(t_elapsed))"
