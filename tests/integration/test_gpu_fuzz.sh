#!/usr/bin/env bash
# test_gpu_fuzz.sh - a short libFuzzer run (a few seconds) of the daemon's
# INFO ioctl decoding (tests/fuzz/fuzz_fastpath.c);
# `make fuzz` runs it longer.  Skipped where clang has no libFuzzer (the
# Makefile then does not build the target).
. "$(dirname "$0")/lib.sh"
FUZZ=$BUILD/fuzz/fuzz_fastpath
[[ -x $FUZZ ]] || t_skip "$FUZZ was not built (needs clang with libFuzzer: make deps)"
SEEDS=$(dirname "$0")/../fuzz/seeds
mkdir -p "$T_DIR/corpus"
"$FUZZ" -max_total_time="${KVFS_FUZZ_SECONDS:-5}" -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 "$T_DIR/corpus" "$SEEDS" >"$T_DIR/fuzz.log" 2>&1 || {
	tail -n 40 "$T_DIR/fuzz.log"
	t_fail "the fuzzer found a crash (log above)"
}
t_log "$(grep -E '^stat::number_of_executed_units' "$T_DIR/fuzz.log" | awk '{ print $2 }') inputs run"
