#!/usr/bin/env bash
# test_crash.sh - kill -9 at random moments (DESIGN.md 3.5; the durability
# protocol at the top of fs/store.c).  Each round, 1 to 3 writer processes
# (crash_workload.py) publish files of 4 KiB .. 12 MiB by temp name + rename
# and straight to the final name (O_TRUNC rewrites, sometimes pausing halfway),
# rewrite 48-byte headers in place, unlink, rename and fsync, journaling
# outside the mount; the daemon (mem=64M, ssd_size=256M, write_policy=through
# or back) is killed after a random delay and restarted on the same state and
# SSD directories.  Then every visible file reads without error and is a
# version that was complete under its name (nothing torn, mixed or empty; no
# temp name of an unfinished write); every file whose fsync returned (a new
# file's: once its close returned) and every file that came back in an
# earlier round is there unless an unlink or a rename over it had started;
# user.kvfs.crc32c matches the bytes; the daemon counts no checksum error, no
# eviction, and drops no chunk map.  The next round starts from the verified
# state.  25 rounds; 200 with KVFS_SOAK=1; KVFS_CRASH_ROUNDS sets it.  The
# seed is random unless KVFS_SEED is set, and printed.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_cmd python3
t_require_helper crc32c

rounds=25
[[ -n ${KVFS_SOAK:-} ]] && rounds=200
rounds=${KVFS_CRASH_ROUNDS:-$rounds}
seed=${KVFS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
t_log "seed $seed, $rounds rounds (reproduce: KVFS_SEED=$seed tests/run.sh integration test_crash)"

W=$(dirname "$0")/crash_workload.py
M=$T_DIR/mnt
S=$T_DIR/state
D=$T_DIR/ssd
J=$T_DIR/journal
B=$T_DIR/baseline.json
mkdir -p "$D"
echo '{}' >"$B"

# round_fail MSG: fail naming the round and how to replay it (the same
# operations; the moment of the kill varies).  KVFS_KEEP=1 keeps the journals.
round_fail() {
	t_fail "round $r (KVFS_SEED=$seed; round seed $((seed + r)), write_policy=$policy, journals in $J): $*"
}

# start POLICY: a daemon on the same state and SSD directories.
start() {
	kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=256M,write_policy=$1"
	PID=$KVFS_PID
}

# crash: SIGKILL the daemon (it must still be alive: a crash of its own is
# a failure), wait for the writers to notice, clear the dead mount.
crash() {
	local i
	kill -0 "$PID" 2>/dev/null || round_fail "the daemon died before it was killed"
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null || true
	unset 'T_PID[$M]'
	for ((i = 0; i < 300; i++)); do
		kill -0 "$wpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$wpid" 2>/dev/null; then
		t_abort_conn "${T_CONN[$M]:-}"
		round_fail "the writers did not stop within 30 s of the kill"
	fi
	wait "$wpid" || round_fail "a writer failed before the kill (see above)"
	fusermount3 -u "$M" 2>/dev/null || fusermount3 -u -z "$M"
}

# stat_of NAME: a counter from the control file.
stat_of() {
	awk -v k="$1" '$1 == k { print $2 }' "$M/.kvfs/stats"
}

read -r _ policy _ < <(python3 "$W" params "$seed" 0)
start "$policy"
for ((r = 0; r < rounds; r++)); do
	read -r delay policy nworkers < <(python3 "$W" params "$seed" "$r")
	rm -rf "$J"
	mkdir "$J"
	python3 "$W" run "$M" "$J" $((seed + r)) "$nworkers" "$B" &
	wpid=$!
	sleep "$delay"
	crash
	read -r _ next _ < <(python3 "$W" params "$seed" $((r + 1)))
	start "$next"
	log=${T_LOG[$M]}
	python3 "$W" verify "$M" "$J" "$B" "$B.new" "$IT/crc32c" ||
		round_fail "the files after the restart do not match the journal (above)"
	mv "$B.new" "$B"
	t_eq "$(stat_of checksum_errors)" 0 "round $r: checksum errors counted by the daemon"
	t_eq "$(stat_of ssd_evictions)" 0 "round $r: SSD evictions (the workload fits)"
	if grep -E 'chunk map|does not match|reading chunk' "$log" >&2; then
		round_fail "the restarted daemon dropped or failed to read stored data (above)"
	fi
	t_log "round $r: killed after ${delay}s, $nworkers writers, write_policy=$policy ($(t_elapsed))"
	policy=$next
done
kvfs_alive "$M"
kvfs_umount "$M"
