#!/usr/bin/env bash
# test_bench_chart.sh - tools/bench-chart.sh turns a kvfs-bench results.json
# into a PNG of the ratios (gnuplot), and refuses input without ratios.
# Uses a small results file written here; no benchmark is run.
. "$(dirname "$0")/lib.sh"
t_require_cmd python3 gnuplot
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHART=$ROOT/tools/bench-chart.sh

cat >"$T_DIR/results.json" <<'EOF2'
{
  "tool": "kvfs-bench", "format": 1, "time": "2026-01-01T00:00:00Z",
  "machine": {"cpus": 2, "cpu": "test cpu", "mem_bytes": 1, "kernel": "6.0"},
  "config": {"repeat": 3},
  "ratios": [
    {"target": "kvfs", "name": "a_write_vs_memcpy", "base": "memcpy", "value": 0.25, "goal": 0.30, "met": false},
    {"target": "kvfs", "name": "a_read_vs_tmpfs", "base": "tmpfs", "value": 1.5},
    {"target": "kvfs", "name": "b_total_vs_disk", "base": "disk", "value": 6.0, "goal": 1.20, "met": true}
  ]
}
EOF2
out=$("$CHART" "$T_DIR/results.json" "$T_DIR/out/ratios.png" 2>&1) || t_fail "bench-chart.sh: $out"
[[ -s $T_DIR/out/ratios.png ]] || t_fail "no PNG written: $out"
# A PNG: its signature, then an IHDR of 1000 pixels wide.
t_eq "$(head -c 8 "$T_DIR/out/ratios.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a "PNG signature"
t_eq "$(od -An -tu1 -j 16 -N 4 "$T_DIR/out/ratios.png" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')" 1000 "PNG width"

# The default output sits next to the input.
mkdir "$T_DIR/d2"
cp "$T_DIR/results.json" "$T_DIR/d2/results.json"
"$CHART" "$T_DIR/d2/results.json" >/dev/null 2>&1 || t_fail "bench-chart.sh with the default output failed"
[[ -s $T_DIR/d2/ratios.png ]] || t_fail "bench-chart.sh did not write ratios.png next to its input"

echo '{"ratios": []}' >"$T_DIR/empty.json"
out=$("$CHART" "$T_DIR/empty.json" "$T_DIR/x.png" 2>&1) && t_fail "bench-chart.sh accepted a file without ratios"
grep -q 'has no ratios' <<<"$out" || t_fail "bench-chart.sh on a file without ratios said: $out"
[[ -e $T_DIR/x.png ]] && t_fail "bench-chart.sh wrote a PNG for a file without ratios"
t_log "ok ($(t_elapsed))"
