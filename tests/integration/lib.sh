# lib.sh - shared setup for the kvfs integration tests; source it, do not run it.
#
# Gives every test a private temp dir ($T_DIR, under /tmp), starts and stops
# kvfs daemons (kvfs_mount / kvfs_umount), and a trap on EXIT that unmounts
# everything the test mounted, stops its daemons and removes $T_DIR, whether the
# test passed, failed, or was killed by the runner's timeout.
#
# Conventions: a test exits 0 (pass), 77 (skip, via t_skip) or anything else
# (fail, via t_fail or any failing command: the scripts run with set -e and an
# ERR trap names the failing line).  Helpers are prefixed t_ (assertions) or
# kvfs_ (daemon control).  Environment: BUILD (default build), KVFS_KEEP=1
# keeps $T_DIR after the run, KVFS_SOAK=1 asks for longer runs.

set -eEuo pipefail

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
KVFS=${KVFS:-$BUILD/kvfs}
IT=$BUILD/tests/it
T_NAME=$(basename "$0" .sh)
# Under the runner's directory for this run (see tests/run.sh), else /tmp.
T_DIR=$(mktemp -d "${KVFS_TEST_TMP:-/tmp}/kvfs-test.XXXXXX")
T_NDAEMON=0
declare -A T_PID=()		# mountpoint -> daemon pid (our child, started with -f)
declare -A T_LOG=()		# mountpoint -> daemon log
declare -A T_LOGGED=()		# mountpoint -> 1 once its log was shown
declare -A T_CONN=()		# mountpoint -> FUSE connection id (/sys/fs/fuse/connections)
T_SHM=()			# reference directories made in /dev/shm
T_MOUNTS=()			# every kvfs mountpoint we started, in order
T_OTHER_MOUNTS=()		# other mounts we made (tmpfs, bind), unmounted last

t_log() { printf '%s: %s\n' "$T_NAME" "$*"; }

# t_fail MSG: fail the test with MSG.
t_fail() {
	printf 'FAIL: %s: %s\n' "$T_NAME" "$*" >&2
	trap - ERR
	exit 1
}

# t_skip REASON: the machine lacks something the test needs (exit 77).
t_skip() {
	printf 'SKIP: %s\n' "$*"
	trap - ERR
	exit 77
}

t_on_err() {
	local rc=$1 line=$2 cmd=$3
	trap - ERR
	printf 'FAIL: %s: line %s: `%s` exited with status %s\n' \
		"$T_NAME" "$line" "$cmd" "$rc" >&2
	((rc == 77)) && rc=1	# 77 means "skipped" to the runner
	exit "$rc"
}
trap 't_on_err $? $LINENO "$BASH_COMMAND"' ERR

# --- mount bookkeeping -------------------------------------------------------

# Field 3 of the /proc/mounts line whose mountpoint is $1 (the last such line),
# or nothing.  /proc/mounts escapes spaces as \040; our paths have none.
t_mount_type() {
	awk -v m="$1" '$2 == m { t = $3 } END { if (t != "") print t }' /proc/mounts
}

t_is_mounted() { [[ -n $(t_mount_type "$1") ]]; }

# The FUSE connection id of mount $1: the minor device number in mountinfo.
t_conn_id() {
	awk -v m="$1" '$5 == m { split($3, d, ":"); id = d[2] } END { if (id != "") print id }' \
		/proc/self/mountinfo
}

# t_abort_conn ID: abort a FUSE connection (root only).  A daemon that hangs
# leaves its clients in uninterruptible sleep, which no signal ends and which
# would hang the whole run; aborting the connection fails their requests with
# ENOTCONN.  Mounts the fusectl filesystem if needed.
t_abort_conn() {
	local c=/sys/fs/fuse/connections/$1
	[[ -n $1 && $(id -u) == 0 ]] || return 0
	[[ -e $c ]] || mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true
	if [[ -w $c/abort ]]; then
		echo "$T_NAME: aborting FUSE connection $1" >&2
		echo 1 >"$c/abort" 2>/dev/null || true
	fi
}

# t_require_kvfs_mount MNT: MNT is a live kvfs mount.  Every test calls this
# (kvfs_mount does) before writing into MNT: a slow or failed mount would send
# the test's I/O to the directory beneath (DESIGN.md 5).
t_require_kvfs_mount() {
	local t
	t=$(t_mount_type "$1")
	[[ $t == fuse.kvfs ]] || t_fail "$1 is not a kvfs mount (type '${t:-none}' in /proc/mounts)"
}

t_daemon_log_tail() {
	local m=$1
	[[ -n ${T_LOG[$m]:-} && -s ${T_LOG[$m]} && -z ${T_LOGGED[$m]:-} ]] || return 0
	T_LOGGED[$m]=1
	echo "--- daemon log for $m (last 30 lines) ---" >&2
	tail -n 30 "${T_LOG[$m]}" >&2
}

# kvfs_mount MNT STATE [OPTS]: start `kvfs -f MNT -o state=STATE,mem=256M,OPTS`
# in the background and wait (10 s at most) until MNT is a fuse.kvfs mount.
# OPTS may override mem=.  Sets KVFS_PID to the daemon's pid.
kvfs_mount() {
	local mnt=$1 state=$2 extra=${3:-} opts i t
	[[ -x $KVFS ]] || t_fail "$KVFS is missing (run make)"
	mkdir -p "$mnt" "$state"
	t_is_mounted "$mnt" && t_fail "kvfs_mount: $mnt is already a mount point"
	opts="state=$state"
	[[ ,$extra, == *,mem=* ]] || opts+=",mem=256M"
	# KVFS_TEST_PASSTHROUGH=0: the whole suite in the daemon-served mode
	# (tests/run.sh runs it both ways); a test's own passthrough= wins.
	[[ -n ${KVFS_TEST_PASSTHROUGH:-} && ,$extra, != *,passthrough=* ]] &&
		opts+=",passthrough=$KVFS_TEST_PASSTHROUGH"
	[[ -n $extra ]] && opts+=",$extra"
	T_NDAEMON=$((T_NDAEMON + 1))
	T_LOG[$mnt]=$T_DIR/kvfs.$T_NDAEMON.log
	"$KVFS" -f "$mnt" -o "$opts" >"${T_LOG[$mnt]}" 2>&1 </dev/null &
	KVFS_PID=$!
	T_PID[$mnt]=$KVFS_PID
	T_MOUNTS+=("$mnt")
	for ((i = 0; i < 200; i++)); do
		t=$(t_mount_type "$mnt")
		if [[ -n $t ]]; then
			[[ $t == fuse.kvfs ]] ||
				t_fail "$mnt mounted with type '$t' in /proc/mounts, expected fuse.kvfs"
			kill -0 "$KVFS_PID" 2>/dev/null ||
				t_fail "kvfs daemon (pid $KVFS_PID) exited right after mounting $mnt"
			T_CONN[$mnt]=$(t_conn_id "$mnt")
			return 0
		fi
		if ! kill -0 "$KVFS_PID" 2>/dev/null; then
			local rc=0
			wait "$KVFS_PID" || rc=$?
			unset 'T_PID[$mnt]'
			t_daemon_log_tail "$mnt"
			t_fail "kvfs exited with status $rc before $mnt was mounted (-o $opts)"
		fi
		sleep 0.05
	done
	t_daemon_log_tail "$mnt"
	t_fail "$mnt did not appear in /proc/mounts within 10 s (-o $opts)"
}

# kvfs_umount MNT: unmount and wait (10 s at most) for the daemon to exit, so
# that a new daemon can take the state directory's lock.  The daemon must exit
# with status 0: a crash at unmount is a failure.
kvfs_umount() {
	local mnt=$1 pid=${T_PID[$1]:-} i rc=0 err
	for ((i = 0; ; i++)); do
		err=$(fusermount3 -u "$mnt" 2>&1) && break
		# EBUSY: a helper's last close may still be in flight.
		((i < 50)) || t_fail "fusermount3 -u $mnt: $err"
		sleep 0.1
	done
	[[ -n $pid ]] || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null &&
		t_fail "kvfs daemon (pid $pid) still running 10 s after unmounting $mnt"
	wait "$pid" || rc=$?
	unset 'T_PID[$mnt]'
	if ((rc != 0)); then
		t_daemon_log_tail "$mnt"
		t_fail "kvfs daemon for $mnt exited with status $rc after unmount"
	fi
}

# kvfs_alive MNT: the daemon serving MNT is still running and mounted.
kvfs_alive() {
	local pid=${T_PID[$1]:-}
	if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
		t_daemon_log_tail "$1"
		t_fail "kvfs daemon for $1 (pid $pid) died"
	fi
	t_require_kvfs_mount "$1"
}

# t_mount_tmpfs DIR SIZE: a tmpfs at DIR (as root), else a new directory in
# /dev/shm; sets T_TMPFS to the directory to use.  (Not in $(...): the
# bookkeeping for the cleanup must happen in the test's own shell.)
t_mount_tmpfs() {
	local dir=$1 size=$2
	mkdir -p "$dir"
	if [[ $(id -u) == 0 ]] && mount -t tmpfs -o "size=$size" kvfs-test "$dir" 2>/dev/null; then
		T_OTHER_MOUNTS+=("$dir")
		T_TMPFS=$dir
	else
		T_TMPFS=$(mktemp -d /dev/shm/kvfs-test.XXXXXX)
		T_SHM+=("$T_TMPFS")
	fi
}

# t_release_mem DIR: unmounts the memory tiers kvfs daemons kept in state
# directories under DIR (STATE/mem, a tmpfs that outlives its daemon so a
# restart can adopt it: docs/design.md, "The memory tier").
t_release_mem() {
	local m
	for m in $(awk -v d="$1/" '$3 == "tmpfs" && index($2, d) == 1 && $2 ~ /\/mem$/ { print $2 }' /proc/mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
}

t_cleanup() {
	local rc=$? m pid i
	trap - ERR
	set +e
	# Descriptors the test left open into a mount would keep it busy.
	exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
	if ((rc != 0)); then
		for m in "${T_MOUNTS[@]}"; do t_daemon_log_tail "$m"; done
	fi
	# Unmount, newest first.  A daemon that does not answer gets its
	# connection aborted, so that nothing stays blocked on it.
	for ((i = ${#T_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${T_MOUNTS[i]}
		t_is_mounted "$m" || continue
		timeout 10 fusermount3 -u "$m" 2>/dev/null && continue
		sleep 0.5
		timeout 10 fusermount3 -u "$m" 2>/dev/null && continue
		t_abort_conn "${T_CONN[$m]:-$(t_conn_id "$m")}"
		fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	# Our daemons (started with -f) exit when unmounted; give them 5 s.
	for m in "${!T_PID[@]}"; do
		pid=${T_PID[$m]}
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			((i == 20)) && kill -TERM "$pid" 2>/dev/null
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "$T_NAME: kvfs daemon $pid did not exit; killing it" >&2
			t_abort_conn "${T_CONN[$m]:-}"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	for ((i = ${#T_OTHER_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${T_OTHER_MOUNTS[i]}" 2>/dev/null || umount -l "${T_OTHER_MOUNTS[i]}" 2>/dev/null
	done
	# The memory tiers the daemons kept for a restart (STATE/mem).
	t_release_mem "$T_DIR"
	for m in "${T_SHM[@]}"; do rm -rf "$m"; done
	if [[ -n ${KVFS_KEEP:-} ]]; then
		echo "$T_NAME: kept $T_DIR" >&2
	elif awk -v d="$T_DIR/" 'index($2, d) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
		echo "$T_NAME: not removing $T_DIR: something is still mounted under it" >&2
	else
		rm -rf --one-file-system "$T_DIR"
	fi
	exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# --- requirements ------------------------------------------------------------

t_require_fuse() {
	[[ -c /dev/fuse ]] || t_skip "no /dev/fuse on this machine"
	[[ -r /dev/fuse && -w /dev/fuse ]] || t_skip "/dev/fuse is not readable and writable by $(id -un)"
	command -v fusermount3 >/dev/null || t_skip "fusermount3 is not installed (apt-get install fuse3)"
	[[ -x $KVFS ]] || t_fail "$KVFS is missing (run make)"
}

# t_require_helper NAME...: the C helpers this test uses were built.
t_require_helper() {
	local h
	for h; do
		[[ -x $IT/$h ]] || t_fail "$IT/$h is missing (make builds tests/integration/$h.c)"
	done
}

t_require_cmd() {
	local c
	for c; do
		command -v "$c" >/dev/null || t_skip "$c is not installed"
	done
}

# --- assertions --------------------------------------------------------------

# t_eq GOT EXPECTED WHAT
t_eq() {
	[[ $1 == "$2" ]] || t_fail "$3: expected '$2', got '$1'"
}

t_ne() {
	[[ $1 != "$2" ]] || t_fail "$3: got '$1', expected something else"
}

# t_fsop EXPECTED OP ARGS...: run one system call through the fsop helper;
# EXPECTED is OK or an errno name (ENOENT, EBUSY, ...).
t_fsop() {
	local want=$1 got
	shift
	got=$("$IT/fsop" "$@" 2>&1) || t_fail "fsop $*: helper failed: $got"
	got=${got%%$'\n'*}
	[[ $got == "$want" || $got == "$want "* ]] ||
		t_fail "$*: expected $want, got $got"
}

# t_fsop_out OP ARGS...: echo the output of a successful fsop call.
t_fsop_out() {
	local got
	got=$("$IT/fsop" "$@" 2>&1) || t_fail "fsop $*: helper failed: $got"
	[[ $got == OK* ]] || t_fail "$*: expected success, got $got"
	got=${got#OK}
	echo "${got# }"
}

# t_cmp FILE1 FILE2: byte-for-byte equal.
t_cmp() {
	local out
	out=$(cmp -- "$1" "$2" 2>&1) || t_fail "contents differ: $out"
}

t_size() { stat -c %s -- "$1"; }

# t_statfs MNT FIELD: a statfs value in bytes (total, free, avail or used).
t_statfs() {
	local b f a s
	read -r b f a s < <(stat -f -c '%b %f %a %S' -- "$1")
	case $2 in
	total) echo $((b * s)) ;;
	free) echo $((f * s)) ;;
	avail) echo $((a * s)) ;;
	used) echo $(((b - f) * s)) ;;
	esac
}

# t_stat MNT SECTION NAME: a number from MNT/.kvfs/stats.json, e.g.
# t_stat "$M" store ssd_reads or t_stat "$M" io read_bytes.
t_stat() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' \
		"$1/.kvfs/stats.json" "$2" "$3"
}

# t_requests MNT OP...: the daemon's request counts so far for each FUSE
# operation named (stats.json's fuse_ops, e.g. read write getxattr), on
# one line.  Reading stats.json itself costs READ requests.
t_requests() {
	python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))["fuse_ops"]
print(*(o.get(k, {}).get("requests", 0) for k in sys.argv[2:]))' "$1/.kvfs/stats.json" "${@:2}"
}

# t_wait_zero MNT SECTION KEY WHAT: waits until stats.json's SECTION.KEY of
# MNT is 0 (a queue drained); fails after 30 s naming WHAT.
t_wait_zero() {
	local i
	for ((i = 0; i < 300; i++)); do
		(($(t_stat "$1" "$2" "$3") == 0)) && return 0
		sleep 0.1
	done
	t_fail "$4 of $1 did not drain in 30 s ($(t_stat "$1" "$2" "$3") files left)"
}

# t_wait_flushed MNT: waits until the flusher's queue of MNT is empty
# (write_policy=through).
t_wait_flushed() { t_wait_zero "$1" store flush_queue "the flush queue"; }

# t_wait_stored FILE: FILE's present bytes reached the SSD (user.kvfs.tier
# memory+ssd or ssd) under write_policy=through; fails after 10 s.
t_wait_stored() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(t_xattr "$1" user.kvfs.tier) != memory ]] && return 0
		sleep 0.1
	done
	t_fail "$1 was not written to the SSD within 10 s (tier $(t_xattr "$1" user.kvfs.tier))"
}

# t_xattr PATH NAME: the value of an extended attribute (fails if absent).
t_xattr() {
	getfattr --absolute-names --only-values -n "$2" -- "$1" 2>/dev/null ||
		t_fail "getfattr -n $2 $1 failed: $(getfattr --absolute-names -n "$2" -- "$1" 2>&1)"
}

# t_elapsed: seconds since the script started, for progress lines.
t_elapsed() { echo "${SECONDS}s"; }
