#!/usr/bin/env bash
# bench-chart.sh - draws the ratios of a `make bench` run as a PNG, so a
# reader sees at a glance where kvfs stands against tmpfs, the local disk
# and the staged copy (memcpy).
#
# usage: tools/bench-chart.sh [RESULTS.json [OUT.png]]
#   default input $BUILD/bench/results.json (kvfs-bench --json), default
#   output ratios.png next to it.
#
# One horizontal bar per ratio (kvfs's median over the base's), drawn from
# parity (1x) on a log scale, so "faster than the base" grows to the right
# and "slower" to the left by the same length for the same factor.  Green:
# the goal was met; red: short of it; grey: no goal (shown for information).
# A black diamond marks each goal; the measured value is written at the end
# of its bar.  Needs python3 (to read the JSON) and gnuplot (gnuplot-nox).
set -euo pipefail

BUILD=${BUILD:-build}
IN=${1:-$BUILD/bench/results.json}
OUT=${2:-$(dirname "$IN")/ratios.png}

die() { echo "bench-chart.sh: $*" >&2; exit 1; }

[[ -r $IN ]] || die "$IN is missing (run make bench first)"
command -v python3 >/dev/null || die "python3 is not installed"
command -v gnuplot >/dev/null || die "gnuplot is not installed (apt-get install gnuplot-nox)"

TMP=$(mktemp -d /tmp/kvfs-chart.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# The JSON, flattened for gnuplot: one line per ratio, bottom bar first, and
# a few settings (the title, the x range, the picture's height).
python3 - "$IN" "$TMP/data" "$TMP/settings.gp" <<'EOF'
import json, math, sys

src, data, settings = sys.argv[1:4]
r = json.load(open(src))
ratios = r.get("ratios") or []
if not ratios:
    sys.exit("bench-chart.sh: %s has no ratios (was a kvfs target measured?)" % src)
targets = sorted({x["target"] for x in ratios})

def label(x):
    # "b_probes_again_vs_disk" -> "(b) probes again vs disk"
    name = x["name"]
    what, _, base = name.partition("_vs_")
    part, _, rest = what.partition("_")
    text = "(%s) %s vs %s" % (part, rest.replace("_", " "), base.replace("_", " "))
    return text if len(targets) == 1 else "%s: %s" % (x["target"], text)

lo, hi = 1.0, 1.0
with open(data, "w") as f:
    # gnuplot draws y upwards: write the last ratio first so the first is on top.
    for i, x in enumerate(reversed(ratios)):
        v = float(x["value"])
        goal = x.get("goal")
        status = 0 if goal is None else (1 if x.get("met") else 2)
        lo, hi = min(lo, v, goal or v), max(hi, v, goal or v)
        f.write('%d\t"%s"\t%.6g\t%s\t%d\t"%s"\n' % (
            i, label(x), v, "NaN" if goal is None else "%.6g" % goal, status,
            ("%.2fx" % v) if v < 10 else ("%.1fx" % v)))

m = r.get("machine", {})
cfg = r.get("config", {})
sub = "%s CPUs (%s), Linux %s, %s, medians of %s runs" % (
    m.get("cpus", "?"), m.get("cpu", "?"), m.get("kernel", "?"),
    r.get("time", "?"), cfg.get("repeat", "?"))
met = sum(1 for x in ratios if x.get("goal") is not None and x.get("met"))
goals = sum(1 for x in ratios if x.get("goal") is not None)
with open(settings, "w") as f:
    f.write('title = "kvfs against tmpfs, local disk, raw SSD I/O and memcpy: %d of %d goals met"\n'
            % (met, goals))
    f.write('subtitle = "%s"\n' % sub.replace('"', "'"))
    # Whole powers of 2 around the data, and room on the right for labels.
    f.write("xmin = %g\nxmax = %g\n" % (2 ** math.floor(math.log2(lo) - 0.9),
                                         2 ** math.ceil(math.log2(hi) + 0.9)))
    f.write("n = %d\nheight = %d\n" % (len(ratios), 200 + 34 * len(ratios)))
EOF

cat >"$TMP/chart.gp" <<'EOF'
load "settings.gp"
set terminal pngcairo size 1000, height font "DejaVu Sans,11" enhanced noenhanced
set output outfile
set title title . "\n" . subtitle
set logscale x 2
set xrange [xmin:xmax]
set yrange [-0.7:n - 0.3]
set xtics format "%gx" nomirror
set ytics nomirror scale 0
set grid xtics lc rgb "#dddddd"
set border 3
set xlabel "kvfs median / base median (log scale; right of 1x: kvfs is faster)"
set key outside bottom center horizontal samplen 1.5 width 2 height 1.5
set lmargin 30
set arrow from 1, graph 0 to 1, graph 1 nohead lc rgb "#333333" lw 1.5 front
set style fill solid 0.85 noborder
bar = 0.32
color(s) = s == 1 ? 0x2e9d4a : s == 2 ? 0xd2472f : 0x9a9a9a
plot datafile using ($3 >= 1 ? 1 : $3):1:($3 >= 1 ? 1 : $3):($3 >= 1 ? $3 : 1):($1 - bar):($1 + bar):(color($5)) \
        with boxxyerror lc rgb variable notitle, \
     '' using (xmin):1:ytic(2) with points ps 0 notitle, \
     '' using ($3 >= 1 ? $3 : NaN):1:6 with labels left offset 0.8, 0 notitle, \
     '' using ($3 < 1 ? $3 : NaN):1:6 with labels right offset -0.8, 0 notitle, \
     '' using 4:1 with points pt 13 ps 1.6 lc rgb "black" title "goal", \
     NaN with boxes lc rgb "#2e9d4a" title "goal met", \
     NaN with boxes lc rgb "#d2472f" title "short of goal", \
     NaN with boxes lc rgb "#9a9a9a" title "no goal"
EOF
(cd "$TMP" && gnuplot -e "datafile='data'; outfile='out.png'" chart.gp) ||
	die "gnuplot failed on $TMP/chart.gp"
mkdir -p "$(dirname "$OUT")"
mv "$TMP/out.png" "$OUT"
echo "chart: $OUT"
