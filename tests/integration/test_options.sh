#!/usr/bin/env bash
# test_options.sh - the command line of docs/CONTRACT-cli.md: every bad option
# or state directory stops kvfs at start with one "kvfs: ..." line naming it and
# exit status 1, and leaves nothing mounted; --help lists the kvfs options;
# without -f, kvfs returns 0 only once the mount exists.
. "$(dirname "$0")/lib.sh"
t_require_fuse

S=$T_DIR/state
MNT=$T_DIR/mnt
mkdir -p "$S" "$MNT"

# refuse WHAT PATTERN ARGS...: kvfs ARGS must exit 1 with one stderr line
# starting "kvfs: " and matching PATTERN (a fixed string), mounting nothing.
# With ONELINE=0 the output may have more lines (libfuse's own messages).
# A mismatch is recorded in BAD and the test goes on, so one run reports all.
BAD=()
bad() {
	printf 'FAIL: %s%s\n' "$1" "$2"
	BAD+=("$1")
}
refuse() {
	local what=$1 pat=$2 out rc=0 lines
	shift 2
	T_MOUNTS+=("$MNT")	# cleanup unmounts it if kvfs wrongly mounted it
	out=$(timeout 10 "$KVFS" "$@" 2>&1 </dev/null) || rc=$?
	if t_is_mounted "$MNT"; then
		fusermount3 -u -z "$MNT" 2>/dev/null || true
		bad "$what" ": kvfs $* mounted $MNT; expected it to refuse (exit 1, '$pat')"
		return 0
	fi
	if ((rc == 124)); then
		bad "$what" ": kvfs $* was still running after 10 s; expected exit 1 with '$pat'"
		return 0
	fi
	if ((rc != 1)); then
		bad "$what" ": kvfs $*: expected exit status 1, got $rc; output: $out"
		return 0
	fi
	if ! grep -qF -- "$pat" <<<"$out"; then
		bad "$what" ": kvfs $*: expected a message containing '$pat', got: $out"
		return 0
	fi
	if [[ ${ONELINE:-1} == 1 ]]; then
		lines=$(grep -c '' <<<"$out")
		if ((lines != 1)) || [[ $out != "kvfs: "* ]]; then
			bad "$what" ": kvfs $*: expected one line starting 'kvfs: ', got $lines: $out"
			return 0
		fi
	fi
	t_log "ok: $what: $out"
}

refuse "missing mountpoint" "kvfs: no mountpoint given" -f -o "state=$S,mem=64M"
refuse "mem= not a number" "kvfs: mem=abc is not a size" "$MNT" -f -o "state=$S,mem=abc"
refuse "mem= bad suffix" "kvfs: mem=12Q is not a size" "$MNT" -f -o "state=$S,mem=12Q"
refuse "mem= empty" "kvfs: mem= is not a size" "$MNT" -f -o "state=$S,mem="
physk=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
big=$((physk * 2 / 1048576 + 1))G
refuse "mem= above physical memory" "kvfs: mem=$big exceeds physical memory" "$MNT" -f -o "state=$S,mem=$big"
refuse "io= unknown" "kvfs: io=foo is not one of auto, direct, cached" "$MNT" -f -o "state=$S,mem=64M,io=foo"
refuse "wake_here= unknown" "kvfs: wake_here=yes is not one of auto, 0, 1" "$MNT" -f -o "state=$S,mem=64M,wake_here=yes"
refuse "nonexistent mountpoint" "kvfs: mountpoint $T_DIR/nope does not exist" "$T_DIR/nope" -f -o "state=$S,mem=64M"

# A state "directory" that is a file.
: >"$T_DIR/statefile"
refuse "state= is a file" "kvfs: state directory $T_DIR/statefile" "$MNT" -f -o "state=$T_DIR/statefile,mem=64M"

# An unwritable state directory.  Root ignores permissions: use a read-only
# bind mount there, mode 0555 otherwise.
RO=$T_DIR/rostate
mkdir -p "$RO"
if [[ $(id -u) == 0 ]]; then
	mount --bind "$RO" "$RO"
	T_OTHER_MOUNTS+=("$RO")
	mount -o remount,bind,ro "$RO"
else
	chmod 0555 "$RO"
fi
touch "$RO/probe" 2>/dev/null && t_fail "could not make $RO unwritable for the test"
refuse "unwritable state directory" "kvfs: state directory $RO is not writable" "$MNT" -f -o "state=$RO,mem=64M"

# libfuse names an unknown option; kvfs exits 1.
ONELINE=0 refuse "unknown -o option" "bogus_opt" "$MNT" -f -o "state=$S,mem=64M,bogus_opt=1"

# --help lists the kvfs options.
rc=0
help=$("$KVFS" --help 2>&1 </dev/null) || rc=$?
((rc == 0)) || bad "--help" ": kvfs --help: expected exit status 0, got $rc"
for o in state= mem= io=; do
	grep -qF -- "$o" <<<"$help" || bad "--help" ": kvfs --help does not list $o: $help"
done

# One daemon per state directory: the second names the first one's pid.
kvfs_mount "$MNT" "$S" mem=64M
first=$KVFS_PID
[[ -f $S/kvfs.lock ]] || t_fail "no lock file $S/kvfs.lock while the daemon runs"
t_eq "$(tr -d ' \n' <"$S/kvfs.lock")" "$first" "pid in $S/kvfs.lock"
M2=$T_DIR/mnt2
mkdir -p "$M2"
MNT_SAVE=$MNT
MNT=$M2 refuse "second daemon on the same state directory" \
	"kvfs: state directory $S is in use by another kvfs daemon (pid $first)" "$M2" -f -o "state=$S,mem=64M"
MNT=$MNT_SAVE
kvfs_alive "$MNT"
echo ok >"$MNT/still-works"
t_eq "$(cat "$MNT/still-works")" ok "the first daemon after the second was refused"
kvfs_umount "$MNT"

# Without -f: kvfs returns 0 once the mount is in place, and runs in the background.
M3=$T_DIR/mnt3
S3=$T_DIR/state3
mkdir -p "$M3" "$S3"
T_MOUNTS+=("$M3")
rc=0
out=$(timeout 20 "$KVFS" "$M3" -o "state=$S3,mem=64M" 2>&1 </dev/null) || rc=$?
((rc == 0)) || t_fail "kvfs without -f: expected exit status 0, got $rc: $out"
t_eq "$(t_mount_type "$M3")" fuse.kvfs "type of $M3 in /proc/mounts as soon as kvfs returned"
pid=$(tr -d ' \n' <"$S3/kvfs.lock")
[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null ||
	t_fail "background daemon: $S3/kvfs.lock holds '$pid', not a running pid"
echo hello >"$M3/f"
t_eq "$(cat "$M3/f")" hello "content through the backgrounded daemon"
fusermount3 -u "$M3"
for ((i = 0; i < 100; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && t_fail "background daemon (pid $pid) still running 10 s after fusermount3 -u"
# The lock went with it: a new daemon takes the state directory.
kvfs_mount "$M3" "$S3" mem=64M
kvfs_umount "$M3"
((${#BAD[@]} == 0)) || t_fail "${#BAD[@]} check(s) failed: ${BAD[*]}"
