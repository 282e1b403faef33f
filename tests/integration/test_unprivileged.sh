#!/usr/bin/env bash
# test_unprivileged.sh - a daemon without CAP_SYS_ADMIN (started as user
# nobody; fusermount3 mounts for it): no private tmpfs and no passthrough
# backing ids, so the memory tier is O_TMPFILEs in /dev/shm and every open
# is daemon-served.  The daemon says so (/.kvfs/config, stats.json), and a
# client of the same user gets the same results as in the other modes:
# files written and read back byte for byte, a shared mapping, O_TMPFILE
# and linkat, rename over a name, user.kvfs.crc32c; after a clean restart
# the directory is there (files are dropped without an SSD tier).
# libfuse opens /dev/fuse itself before it asks fusermount3; where the node
# is 0600 (no udev rule, as on this VM), the test runs in a private mount
# namespace with a 0666 node bound over it, as Debian's udev leaves it.
if [[ -z ${KVFS_FUSE_NS:-} && $(id -u) == 0 ]]; then
	command -v unshare >/dev/null || { echo "SKIP: unshare(1) is missing"; exit 77; }
	KVFS_FUSE_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
t_require_fuse
[[ $(id -u) == 0 ]] || t_skip "needs root to start a daemon as nobody (this suite already runs unprivileged)"
t_require_cmd setpriv python3
t_require_helper crc32c pattern
[[ -u $(command -v fusermount3) ]] || t_skip "fusermount3 is not set-uid root"
# The system's Python, which nobody can run (root's PATH may hold a private one).
PY=/usr/bin/python3
[[ -x $PY ]] || t_skip "$PY is missing"
if [[ $(stat -c %a /dev/fuse) != 666 ]]; then
	mknod -m 666 "$T_DIR/fuse" c 10 229 && mount --bind "$T_DIR/fuse" /dev/fuse ||
		t_skip "cannot bind a 0666 /dev/fuse in a private mount namespace"
	T_OTHER_MOUNTS+=(/dev/fuse)
fi

NOBODY=65534
# nobody must reach $T_DIR/u: the runner's directories are 0700.
chmod o+x "$T_DIR" "$(dirname "$T_DIR")"
U=$T_DIR/u
mkdir -p "$U/mnt" "$U/state"
chown -R "$NOBODY:$NOBODY" "$U"
as_nobody() { setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups "$@"; }
cat >"$T_DIR/kvfs-as-nobody" <<EOF
#!/bin/sh
exec setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$KVFS" "\$@"
EOF
chmod 755 "$T_DIR/kvfs-as-nobody"
KVFS=$T_DIR/kvfs-as-nobody
kvfs_mount "$U/mnt" "$U/state" mem=128M
M=$U/mnt
as_nobody test -d "$M/.kvfs" || t_fail "nobody cannot see its own mount's .kvfs"

# Reference files fI.kv of I + 1 MiB, readable by nobody.
mkdir -m 755 "$T_DIR/refs"
for i in 0 1 2 3; do
	"$IT/pattern" "$i" "$((i + 1))M" >"$T_DIR/refs/f$i.kv"
done
chmod 644 "$T_DIR"/refs/*

# The client, as nobody: prints one "key value" line per check.
cat >"$T_DIR/client.py" <<'PY'
import ctypes, json, mmap, os, sys
m, refs = sys.argv[1], sys.argv[2]
ok = lambda b: "yes" if b else "no"
files = {n: open(os.path.join(refs, n), "rb").read() for n in sorted(os.listdir(refs))}
for name, data in files.items():
    with open(f"{m}/{name}.tmp", "wb") as f:
        f.write(data)
    os.rename(f"{m}/{name}.tmp", f"{m}/{name}")
print("readback", ok(all(open(f"{m}/{n}", "rb").read() == d for n, d in files.items())))
fd = os.open(f"{m}/f3.kv", os.O_RDONLY)
mp = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
print("mmap", ok(mp[:] == files["f3.kv"]))
mp.close(); os.close(fd)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(m, os.O_TMPFILE | os.O_WRONLY, 0o644)
os.write(fd, files["f1.kv"])
r = libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, f"{m}/t.kv".encode(), 0x400)
os.close(fd)
print("tmpfile", ok(r == 0 and open(f"{m}/t.kv", "rb").read() == files["f1.kv"]))
with open(f"{m}/f0.kv.tmp", "wb") as f:
    f.write(files["f2.kv"])
os.rename(f"{m}/f0.kv.tmp", f"{m}/f0.kv")
print("replace", ok(open(f"{m}/f0.kv", "rb").read() == files["f2.kv"]))
print("crc", os.getxattr(f"{m}/f2.kv", "user.kvfs.crc32c").decode())
s = json.load(open(f"{m}/.kvfs/stats.json"))
print("passthrough", s["io"]["passthrough"], s["io"]["opens_passthrough"])
print("served", ok(s["io"]["opens_served"] > 0))
for line in open(f"{m}/.kvfs/config"):
    if line.startswith("# io mode:"):
        print("config", line.strip())
PY
chmod 644 "$T_DIR/client.py"
out=$(as_nobody "$PY" "$T_DIR/client.py" "$M" "$T_DIR/refs" 2>&1) || t_fail "the client as nobody failed: $out"
get() { sed -n "s/^$1 //p" <<<"$out"; }
t_eq "$(get readback)" yes "files read back through a daemon without CAP_SYS_ADMIN"
t_eq "$(get mmap)" yes "a shared mapping through a daemon without CAP_SYS_ADMIN"
t_eq "$(get tmpfile)" yes "O_TMPFILE and linkat through a daemon without CAP_SYS_ADMIN"
t_eq "$(get replace)" yes "rename over a name through a daemon without CAP_SYS_ADMIN"
t_eq "$(get crc)" "$("$IT/crc32c" "$T_DIR/refs/f2.kv")" "user.kvfs.crc32c through a daemon without CAP_SYS_ADMIN"
t_eq "$(get passthrough)" "False 0" "stats io.passthrough and bound opens without CAP_SYS_ADMIN"
t_eq "$(get served)" yes "daemon-served opens counted"
[[ $(get config) == "# io mode: daemon-served; FUSE passthrough: "*"CAP_SYS_ADMIN not held" ]] ||
	t_fail "config's io mode line without CAP_SYS_ADMIN: $(get config)"
t_log "daemon as nobody: daemon-served, same results ($(t_elapsed))"

kvfs_umount "$M"
kvfs_mount "$M" "$U/state" mem=128M
as_nobody test -d "$M/.kvfs" || t_fail "the restarted daemon's mount is not usable by nobody"
kvfs_umount "$M"
