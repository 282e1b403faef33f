#!/usr/bin/env bash
# test_kvfsctl.sh - the operator's view of a live mount: the /.kvfs control
# files (hidden from ls, readable with cat), /.kvfs/metrics as Prometheus
# text whose counters only grow, and kvfsctl stats, ls, du, evict, pin,
# unpin and top (in a tmux pseudo-terminal), with their JSON and their
# errors for paths that are not on a live kvfs.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern
t_require_cmd python3 getfattr

K=$BUILD/kvfsctl
[[ -x $K ]] || t_fail "$K is missing (run make)"
M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=256M
t_require_kvfs_mount "$M"

# t_run EXPECTED_STATUS CMD...: run, keep stdout in $OUT and stderr in $ERR.
t_run() {
	local want=$1 rc=0
	shift
	"$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
	OUT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
	((rc == want)) || t_fail "$*: exit status $rc, expected $want; stderr: $ERR"
}

t_json() { python3 -m json.tool >/dev/null 2>&1 <<<"$1" || t_fail "$2 is not valid JSON: $1"; }

# --- /.kvfs: hidden from readdir, reachable by path -----------------------------
ls -a "$M" | grep -qx .kvfs && t_fail "ls -a $M lists .kvfs: $(ls -a "$M")"
t_eq "$(ls "$M/.kvfs" | tr '\n' ' ')" "config metrics stats stats.json " "ls of $M/.kvfs"
grep -q '^memory   yes' "$M/.kvfs/stats" || t_fail "stats has no memory tier line: $(cat "$M/.kvfs/stats")"
grep -qx "state=$T_DIR/state" "$M/.kvfs/config" || t_fail "config: $(cat "$M/.kvfs/config")"
grep -qx "mem=$((256 << 20))" "$M/.kvfs/config" || t_fail "config: $(cat "$M/.kvfs/config")"
t_json "$(cat "$M/.kvfs/stats.json")" "$M/.kvfs/stats.json"
(echo x >"$M/.kvfs/stats") 2>/dev/null && t_fail "writing $M/.kvfs/stats succeeded"
touch "$M/.kvfs/new" 2>/dev/null && t_fail "creating a file in $M/.kvfs succeeded"
rm -f "$M/.kvfs/stats" 2>/dev/null && t_fail "rm $M/.kvfs/stats succeeded"
[[ -e $M/.kvfs/stats ]] || t_fail "rm removed $M/.kvfs/stats"

# --- metrics: Prometheus text; counters never go down --------------------------
cat >"$T_DIR/promcheck.py" <<'EOF'
import re, sys
# Checks one exposition and prints "name{labels} value" of every counter
# sample (histogram series included), for the monotonicity check.
types, helps, counters = {}, set(), []
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip('\n')
    if line.startswith('# HELP '):
        helps.add(line.split()[2]); continue
    if line.startswith('# TYPE '):
        _, _, name, kind = line.split()
        assert kind in ('counter', 'gauge', 'histogram'), line
        assert name not in types, 'TYPE declared twice: ' + name
        assert name in helps, 'TYPE before HELP: ' + name
        types[name] = kind; continue
    assert not line.startswith('#') and line, 'line %d: %r' % (n, line)
    m = sample.match(line)
    assert m, 'line %d does not parse: %r' % (n, line)
    name, labels, value = m.group(1), m.group(2) or '', float(m.group(3))
    assert name.startswith('kvfs_'), name
    base = name
    for suffix in ('_bucket', '_sum', '_count'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
            base = name[:-len(suffix)]
    assert base in types, 'line %d: %s has no TYPE before it' % (n, name)
    if types[base] == 'counter':
        assert name.endswith('_total'), name
    if types[base] in ('counter', 'histogram') and not name.endswith('_max_seconds'):
        counters.append('%s%s %r' % (name, labels, value))
assert 'kvfs_fuse_request_duration_seconds' in types
for c in counters:
    print(c)
EOF
cp "$M/.kvfs/metrics" "$T_DIR/m1"
python3 "$T_DIR/promcheck.py" "$T_DIR/m1" >"$T_DIR/c1" || t_fail "metrics (first read) is not valid Prometheus text"
"$IT/pattern" 7 $((2 << 20)) >"$T_DIR/ref"
mkdir "$M/kv"
cp "$T_DIR/ref" "$M/kv/a.kv"
for i in 1 2 3; do cmp -s "$T_DIR/ref" "$M/kv/a.kv" || t_fail "read $i of a.kv differs"; done
stat "$M/kv/missing.kv" 2>/dev/null && t_fail "stat of a missing name succeeded"
cp "$M/.kvfs/metrics" "$T_DIR/m2"
python3 "$T_DIR/promcheck.py" "$T_DIR/m2" >"$T_DIR/c2" || t_fail "metrics (second read) is not valid Prometheus text"
python3 - "$T_DIR/c1" "$T_DIR/c2" <<'EOF' || t_fail "a counter went down between two reads of metrics"
import sys
first = dict(l.rsplit(' ', 1) for l in open(sys.argv[1]).read().split('\n') if l)
second = dict(l.rsplit(' ', 1) for l in open(sys.argv[2]).read().split('\n') if l)
for k, v in first.items():
    assert k in second, 'counter disappeared: ' + k
    assert float(second[k]) >= float(v), '%s: %s then %s' % (k, v, second[k])
assert float(second['kvfs_written_bytes_total']) >= float(first['kvfs_written_bytes_total']) + (2 << 20)
assert float(second['kvfs_file_hits_total']) >= float(first['kvfs_file_hits_total']) + 3
EOF

# --- stats ----------------------------------------------------------------------------
t_run 0 "$K" stats "$M"
grep -q '^ssd      no' <<<"$OUT" || t_fail "kvfsctl stats shows no absent ssd tier: $OUT"
grep -q '^lookups .* hit rate' <<<"$OUT" || t_fail "kvfsctl stats has no lookups line: $OUT"
grep -q '^read ' <<<"$OUT" || t_fail "kvfsctl stats has no read operation line: $OUT"
t_run 0 "$K" stats --json "$M"
t_json "$OUT" "kvfsctl stats --json"
cap=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["tiers"]["memory"]["capacity_bytes"], d["tiers"]["ssd"]["present"], d["namespace"]["files"])' <<<"$OUT")
t_eq "$cap" "$((256 << 20)) False 1" "stats.json memory capacity, ssd presence, files"
t_run 0 "$K" stats --metrics "$M"
grep -q '^kvfs_tier_capacity_bytes{tier="memory"} ' <<<"$OUT" || t_fail "kvfsctl stats --metrics: $OUT"

# --- ls: tier and hits after reads ------------------------------------------------------
echo small >"$M/kv/b.kv"
setfattr -n user.kvfs.parent -v a.kv "$M/kv/b.kv"
t_run 0 "$K" ls "$M/kv"
line=$(grep ' a\.kv$' <<<"$OUT") || t_fail "kvfsctl ls does not list a.kv: $OUT"
read -r size tier hits _ <<<"$line"
t_eq "$tier $hits" "memory 3" "tier and hits of a.kv in kvfsctl ls (3 reads)"
t_eq "$size" "2.0M" "size of a.kv in kvfsctl ls"
grep -q ' a\.kv  *b\.kv$' <<<"$OUT" || t_fail "kvfsctl ls does not show b.kv's parent a.kv: $OUT"
t_run 0 "$K" ls --json --sort=hits "$M/kv"
t_json "$OUT" "kvfsctl ls --json"
got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s:%s:%d:%s:%s" % (e["name"], e["tier"], e["hits"], e["pinned"], e["parent"]) for e in d)); assert d[0]["last_access"] > 0' <<<"$OUT")
t_eq "$got" "a.kv:memory:3:False:None b.kv:memory:0:False:a.kv" "kvfsctl ls --json --sort=hits"
t_run 0 "$K" ls -b "$M/kv/a.kv"
grep -q "^ *$((2 << 20)) memory" <<<"$OUT" || t_fail "kvfsctl ls -b of one file: $OUT"

# --- du per tier ------------------------------------------------------------------------------
t_run 0 "$K" du -b "$M"
grep -q "^memory  *2  *$(((2 << 20) + 6)) " <<<"$OUT" || t_fail "kvfsctl du memory line: $OUT"
grep -q '^ssd  *0  *0  *0$' <<<"$OUT" || t_fail "kvfsctl du ssd line: $OUT"
t_run 0 "$K" du --json "$M"
t_json "$OUT" "kvfsctl du --json"

# --- pin prevents eviction; evict removes; open handles keep reading -------------------------
t_run 0 "$K" pin "$M/kv/a.kv"
t_eq "$(t_xattr "$M/kv/a.kv" user.kvfs.pin)" 1 "user.kvfs.pin after kvfsctl pin"
t_run 1 "$K" evict "$M/kv/a.kv"
grep -q pinned <<<"$ERR" || t_fail "kvfsctl evict of a pinned file does not say why: $ERR"
t_cmp "$T_DIR/ref" "$M/kv/a.kv"
t_run 0 "$K" unpin "$M/kv/a.kv"
exec 3<"$M/kv/a.kv"
t_run 0 "$K" evict "$M/kv/a.kv"
[[ -e $M/kv/a.kv ]] && t_fail "a.kv still exists after kvfsctl evict"
ls "$M/kv" | grep -qx a.kv && t_fail "ls still lists a.kv after eviction"
cmp -s "$T_DIR/ref" /dev/fd/3 || t_fail "a descriptor opened before the eviction no longer reads a.kv"
exec 3<&-
grep -q '^evictions  1 ' "$M/.kvfs/stats" || t_fail "stats does not count the eviction: $(grep evictions "$M/.kvfs/stats")"
mkdir "$M/kv/sub"
echo 1 >"$M/kv/sub/x.kv"
echo 2 >"$M/kv/sub/y.kv"
t_run 1 "$K" evict "$M/kv/sub"
t_run 0 "$K" evict -r -v "$M/kv/sub"
t_eq "$(ls "$M/kv/sub" | wc -l)" 0 "files left in sub after evict -r"
t_eq "$(grep -c '^evict: ' <<<"$OUT")" 2 "files evict -r -v names"

# --- errors: not kvfs, bad usage ----------------------------------------------------------------
t_run 3 "$K" ls "$T_DIR"
grep -q 'is not a kvfs mount' <<<"$ERR" || t_fail "kvfsctl ls of a non-kvfs directory: $ERR"
t_run 3 "$K" stats "$T_DIR"
t_run 2 "$K" ls --sort=bogus "$M"
t_run 2 "$K" frobnicate
t_run 1 "$K" evict "$M/kv/none.kv"

# --- top in a pseudo-terminal: header, 80x24, q quits ----------------------------------------
if command -v tmux >/dev/null; then
	sock=$T_DIR/tmux.sock
	tmux -S "$sock" new-session -d -s top -x 80 -y 24 \
		"$K top $M; echo \$? >$T_DIR/top.rc; sleep 30" ||
		t_fail "tmux could not start kvfsctl top"
	for ((i = 0; i < 50; i++)); do
		screen=$(tmux -S "$sock" capture-pane -p -t top 2>/dev/null || true)
		grep -q '^OPERATION' <<<"$screen" && break
		sleep 0.1
	done
	head -n 1 <<<"$screen" | grep -q "^kvfs top  $M  up " ||
		{ tmux -S "$sock" kill-server; t_fail "kvfsctl top header: $screen"; }
	grep -q '^OPERATION' <<<"$screen" || { tmux -S "$sock" kill-server; t_fail "kvfsctl top: $screen"; }
	grep -q '^memory ' <<<"$screen" || { tmux -S "$sock" kill-server; t_fail "kvfsctl top: $screen"; }
	tmux -S "$sock" send-keys -t top q
	for ((i = 0; i < 50; i++)); do
		[[ -s $T_DIR/top.rc ]] && break
		sleep 0.1
	done
	tmux -S "$sock" kill-server 2>/dev/null || true
	[[ -s $T_DIR/top.rc ]] || t_fail "kvfsctl top did not exit within 5 s of q"
	t_eq "$(cat "$T_DIR/top.rc")" 0 "exit status of kvfsctl top after q"
else
	t_log "tmux is not installed: kvfsctl top checked without a terminal only"
fi
t_run 0 "$K" top -n 2 -d 0.2 "$M"
t_eq "$(grep -c '^kvfs top ' <<<"$OUT")" 2 "frames printed by kvfsctl top -n 2 without a terminal"

# --- a daemon that died: "not running" ---------------------------------------------------------
kvfs_umount "$M"
kvfs_mount "$M" "$T_DIR/state2" mem=64M
kill -KILL "$KVFS_PID"
wait "$KVFS_PID" 2>/dev/null || true
t_run 3 "$K" stats "$M"
grep -q 'not running' <<<"$ERR" || t_fail "kvfsctl stats of a dead daemon's mount: $ERR"
fusermount3 -u "$M" 2>/dev/null || umount -l "$M"
t_log "ok ($(t_elapsed))"
