#!/usr/bin/env bash
# check-tier.sh - one owner for a file's tier state: outside fs/tier.c no
# code of the daemon writes a field of an inode's `t` (struct kvfs_tier,
# fs/tier.h); it calls one of tier.c's verbs.  The flush queue's links
# (t.queued, t.qnext) are store.c's and exempt.  `make` runs this before it
# archives the core (tests/integration/test_tier_owner.sh shows it failing).
#
#   tools/check-tier.sh [FILE...]     (default: fs/ and index/ sources)
#
# What counts as a write, in code with its comments blanked: an assignment
# (=, op=, ++, --) to t.FIELD..., an atomic store, exchange or fetch-op,
# memset/memcpy/free/kvfs_map_release on it, and a pointer that could write
# (a `struct kvfs_tier *` or a `struct kvfs_map *` into t, not const).
# Prints FILE:LINE: CODE for each and exits 1; exits 0 when there is none.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
if (($# == 0)); then
	set -- fs/*.c fs/*.h index/*.c index/*.h
fi

files=()
for f in "$@"; do
	case $f in
	fs/tier.c | fs/tier.h | */fs/tier.c | */fs/tier.h) ;;
	*) files+=("$f") ;;
	esac
done
((${#files[@]})) || exit 0

# FILE:LINE:CODE, comments blanked (one-line /* */, the lines of a block
# comment, which in kvfs start with "*" and a space, "/*" or "*/").
code=$(awk '{
	line = $0
	gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, "", line)
	sub(/\/\*.*$/, "", line)
	if (line ~ /^[[:space:]]*\*([[:space:]]|\/|$)/)
		line = ""
	print FILENAME ":" FNR ":" line
}' "${files[@]}")

T='[A-Za-z_][A-Za-z_0-9]*(->|\.)t\.'
SUB='(\.[A-Za-z_0-9]+|\[[^]]*\])*'
patterns=(
	"(->|\\.)t\\.[A-Za-z_0-9]+${SUB}[[:space:]]*([-+*/%&|^]|<<|>>)?=([^=]|\$)"
	"(->|\\.)t\\.[A-Za-z_0-9]+${SUB}[[:space:]]*(\\+\\+|--)"
	"(\\+\\+|--)[[:space:]]*${T}"
	"(atomic_(store|init|exchange|compare_exchange|fetch_)[A-Za-z_]*|memset|memcpy|memmove|free|kvfs_map_release)[[:space:]]*\\([[:space:]]*&?[[:space:]]*${T}"
	"(^|[^A-Za-z_0-9])struct[[:space:]]+kvfs_tier[[:space:]]*\\*"
	"(^|[^A-Za-z_0-9])struct[[:space:]]+kvfs_map[[:space:]]*\\*[[:space:]]*[A-Za-z_0-9]+[[:space:]]*=[[:space:]]*&[[:space:]]*${T}"
)
bad=""
for p in "${patterns[@]}"; do
	hits=$(grep -E -- ":[0-9]+:.*$p" <<<"$code" |
		grep -Ev ":[0-9]+:.*(->|\\.)t\\.(queued|qnext)([^A-Za-z_0-9]|\$)" |
		grep -Ev ":[0-9]+:.*const[[:space:]]+struct[[:space:]]+kvfs_(tier|map)[[:space:]]*\\*")
	[[ -n $hits ]] && bad+="$hits"$'\n'
done
if [[ -n $bad ]]; then
	sort -t: -k1,1 -k2,2n -u <<<"${bad%$'\n'}" | sed 's/:[[:space:]]*/: /2'
	echo "kvfs: the lines above write a file's tier state (ino->t) outside fs/tier.c; call one of its verbs (fs/tier.h) instead" >&2
	exit 1
fi
exit 0
