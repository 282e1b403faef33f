#!/usr/bin/env bash
# test_damaged_index.sh - a damaged index.db stops kvfs at start, cleanly: for
# a file cut to half its size, cut to 1000 bytes, or with a garbage header,
# the daemon exits with a non-zero status of its own (not a signal), prints
# one line that names the database file and says to move it aside, leaves
# nothing mounted, and does not rewrite the damaged file.  Following that
# advice (moving the file aside) then starts kvfs with an empty index.
# A zero-length index.db is a new database to SQLite and is not tested here.
. "$(dirname "$0")/lib.sh"
t_require_fuse

M=$T_DIR/mnt
S=$T_DIR/state
DB=$S/index.db

kvfs_mount "$M" "$S" mem=64M
mkdir -p "$M/model/layer0"
for i in 1 2 3; do
	echo "data $i" >"$M/model/layer0/p$i.kv"
done
kvfs_umount "$M"

# The clean unmount checkpointed the WAL into index.db: truncating index.db
# alone is then the whole damage.
[[ -f $DB ]] || t_fail "$DB is missing after the unmount"
if [[ -e $DB-wal ]]; then
	t_eq "$(t_size "$DB-wal")" 0 "size of index.db-wal after a clean unmount"
fi
size=$(t_size "$DB")
((size >= 8192)) || t_fail "index.db is only $size bytes: too small to cut in half meaningfully"
cp "$DB" "$T_DIR/index.db.good"

# t_start_damaged WHAT: start kvfs on the damaged $DB and check how it stops.
t_start_damaged() {
	local what=$1 log=$T_DIR/start.log pid i rc=0 out
	cp "$DB" "$T_DIR/index.db.damaged"
	T_MOUNTS+=("$M")	# unmounted by the cleanup if it (wrongly) mounts
	"$KVFS" -f "$M" -o "state=$S,mem=64M" >"$log" 2>&1 </dev/null &
	pid=$!
	T_PID[$M]=$pid
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && t_fail "$what: kvfs still runs 10 s after starting: $(cat "$log")"
	wait "$pid" || rc=$?
	unset 'T_PID[$M]'
	out=$(cat "$log")
	((rc != 0)) || t_fail "$what: kvfs exited with status 0: $out"
	((rc < 128)) || t_fail "$what: kvfs was killed by signal $((rc - 128)): $out"
	t_is_mounted "$M" && t_fail "$what: $M is mounted after kvfs exited"
	t_eq "$(grep -c '' <<<"$out")" 1 "$what: lines kvfs printed ($out)"
	[[ $out == *"$DB"* ]] || t_fail "$what: the message does not name $DB: $out"
	[[ $out == *"move it aside"* ]] || t_fail "$what: the message does not say what to do: $out"
	cmp -s "$DB" "$T_DIR/index.db.damaged" || t_fail "$what: kvfs rewrote the damaged $DB"
	t_log "$what: status $rc: $out"
}

# (a) half its size (a whole number of pages, so SQLite alone would open it).
truncate -s $((size / 2)) "$DB"
t_start_damaged "cut to half ($((size / 2)) of $size bytes)"

# (b) 1000 bytes: inside the second page.
cp "$T_DIR/index.db.good" "$DB"
truncate -s 1000 "$DB"
t_start_damaged "cut to 1000 bytes"

# (c) a garbage header, the rest intact.
cp "$T_DIR/index.db.good" "$DB"
garbage=$(printf 'not a kvfs index. %.0s' {1..6})
printf '%s' "${garbage:0:100}" | dd of="$DB" conv=notrunc status=none
t_eq "$(t_size "$DB")" "$size" "size of the file with a garbage header"
t_start_damaged "garbage header"

# The undamaged copy still starts, with what it held (the directories).
cp "$T_DIR/index.db.good" "$DB"
kvfs_mount "$M" "$S" mem=64M
[[ -d $M/model/layer0 ]] || t_fail "model/layer0 missing after restoring the good index.db"
kvfs_umount "$M"

# The advice works: with the damaged file moved aside, kvfs starts empty.
truncate -s $((size / 2)) "$DB"
mkdir "$T_DIR/aside"
for f in "$DB" "$DB-wal" "$DB-shm"; do
	[[ ! -e $f ]] || mv "$f" "$T_DIR/aside/"
done
kvfs_mount "$M" "$S" mem=64M
t_eq "$(find "$M" -mindepth 1 -maxdepth 1 ! -name .kvfs | wc -l)" 0 "entries after moving index.db aside"
mkdir "$M/fresh"
kvfs_umount "$M"
t_log "ok ($(t_elapsed))"
