#!/usr/bin/env bash
# test_mount_helper.sh - kvfs mounts like any filesystem: `mount -t fuse.kvfs`
# and fstab lines (`mount -a -T FILE`, `mount -T FILE MNT` for noauto) go
# through mount-helpers/mount.kvfs, which drops the fstab-only words and
# passes the rest to kvfs; `umount` unmounts.  Also: the systemd unit
# verifies, and `make install DESTDIR=...` puts every part where Debian
# expects it.
#
# mount(8) looks for helpers in /sbin only.  So that the test touches
# nothing of the machine's, the mounts run in a private mount namespace
# (unshare -m) where /sbin shows a directory holding just this build's
# helper; what is mounted there is invisible outside, and the script run
# inside unmounts all of it and waits for its daemons before leaving.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_cmd unshare mount umount flock
[[ $(id -u) == 0 ]] || t_skip "mount(8) runs filesystem helpers for root only"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HELPER=$BUILD/mount.kvfs
[[ -x $HELPER ]] || t_fail "$HELPER is missing (run make)"

# --- the helper alone: which options reach kvfs ------------------------------------
out=$("$HELPER" kvfs "$T_DIR/m0" -f -v -o defaults,auto,rw,state=/s,nofail,_netdev \
	-o mem=64M,x-systemd.requires=a.service,comment=x,user,noauto,allow_other 2>&1)
t_eq "$out" "mount.kvfs: $BUILD/kvfs $T_DIR/m0 -o state=/s,mem=64M,allow_other,fsname=kvfs" \
	"the kvfs command line mount.kvfs builds"
out=$("$HELPER" none "$T_DIR/m0" -f -v -o fsname=cache,ro 2>&1)
t_eq "$out" "mount.kvfs: $BUILD/kvfs $T_DIR/m0 -o fsname=cache,ro" "an explicit fsname= is kept"
"$HELPER" 2>/dev/null && t_fail "mount.kvfs without arguments succeeded"

# --- mount(8) in a private mount namespace ---------------------------------------------
mkdir -p "$T_DIR/sbin"
ln -s "$HELPER" "$T_DIR/sbin/mount.kvfs"
ln -s "$HELPER" "$T_DIR/sbin/mount.fuse.kvfs"
cat >"$T_DIR/fstab" <<EOF
# fstab-style lines, as an operator writes them
kvfs-a  $T_DIR/m2  fuse.kvfs  defaults,state=$T_DIR/s2,mem=64M,nofail,_netdev,x-systemd.requires=x.service  0  0
kvfs-b  $T_DIR/m3  fuse.kvfs  noauto,user,state=$T_DIR/s3,mem=64M  0  0
EOF
mkdir -p "$T_DIR/m1" "$T_DIR/m2" "$T_DIR/m3" "$T_DIR/m4"

cat >"$T_DIR/inside.sh" <<'EOF'
# Runs in the private namespace.  Prints "FAIL: ..." and exits 1 on failure;
# unmounts everything it mounted and waits for the daemons in any case.
set -u
T=$1
fail() { echo "FAIL: $*"; exit 1; }
mtype() { awk -v m="$1" '$2 == m { t = $1 " " $3 } END { print t }' /proc/self/mounts; }
# Waits (10 s at most) until the daemon of state directory $1 has exited.
daemon_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		flock -n "$1/kvfs.lock" true 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
cleanup() {
	local m
	for m in "$T/m1" "$T/m2" "$T/m3" "$T/m4"; do
		[[ -n $(mtype "$m") ]] && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	for m in "$T/s1" "$T/s2" "$T/s3"; do
		[[ -e $m/kvfs.lock ]] && daemon_gone "$m"
	done
}
trap cleanup EXIT
mount --bind "$T/sbin" /sbin || fail "cannot bind $T/sbin over /sbin in the namespace"

# mount -t fuse.kvfs: the helper runs, kvfs mounts, umount unmounts.
mount -t fuse.kvfs kvfs "$T/m1" -o state="$T/s1",mem=64M,nofail || fail "mount -t fuse.kvfs failed"
[[ $(mtype "$T/m1") == "kvfs fuse.kvfs" ]] || fail "m1 in /proc/mounts: '$(mtype "$T/m1")'"
echo hello >"$T/m1/f" && [[ $(cat "$T/m1/f") == hello ]] || fail "cannot use the mount m1"
umount "$T/m1" || fail "umount m1 failed"
[[ -z $(mtype "$T/m1") ]] || fail "m1 still mounted after umount"
daemon_gone "$T/s1" || fail "the daemon of m1 did not exit after umount"

# mount -a with an fstab: the auto line mounts, noauto does not; again is a no-op.
mount -a -T "$T/fstab" || fail "mount -a -T fstab failed"
[[ $(mtype "$T/m2") == "kvfs-a fuse.kvfs" ]] || fail "m2 in /proc/mounts: '$(mtype "$T/m2")'"
[[ -z $(mtype "$T/m3") ]] || fail "the noauto line m3 was mounted by mount -a"
mount -a -T "$T/fstab" || fail "a second mount -a -T fstab failed"
[[ $(grep -c " $T/m2 " /proc/self/mounts) == 1 ]] || fail "a second mount -a mounted m2 again"
mount -T "$T/fstab" "$T/m3" || fail "mount -T fstab m3 (noauto) failed"
[[ $(mtype "$T/m3") == "kvfs-b fuse.kvfs" ]] || fail "m3 in /proc/mounts: '$(mtype "$T/m3")'"
[[ -d $T/m3/.kvfs ]] || fail "m3 has no control directory"
umount "$T/m2" || fail "umount m2 failed"
umount "$T/m3" || fail "umount m3 failed"
daemon_gone "$T/s2" && daemon_gone "$T/s3" || fail "a daemon did not exit after umount"

# A bad option: mount fails with kvfs's own line.
out=$(mount -t fuse.kvfs kvfs "$T/m4" -o state="$T/s4",mem=abc 2>&1) && fail "mem=abc mounted"
grep -q 'mem=abc is not a size' <<<"$out" || fail "mount with mem=abc said: $out"
[[ -z $(mtype "$T/m4") ]] || fail "m4 mounted despite mem=abc"
echo "inside: ok"
EOF
out=$(timeout 60 unshare -m --propagation private bash "$T_DIR/inside.sh" "$T_DIR" 2>&1) ||
	t_fail "in the mount namespace: $out"
grep -qx 'inside: ok' <<<"$out" || t_fail "in the mount namespace: $out"

# --- the systemd unit ---------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T_DIR/unit"
	sed "s|@BINDIR@|$BUILD|" "$ROOT/mount-helpers/kvfs@.service" >"$T_DIR/unit/kvfs@.service"
	out=$(cd "$T_DIR/unit" && systemd-analyze verify --man=no "$T_DIR/unit/kvfs@mnt-kvfs.service" 2>&1) ||
		t_fail "systemd-analyze verify kvfs@.service: $out"
	[[ -z $out ]] || t_fail "systemd-analyze verify kvfs@.service warns: $out"
else
	t_log "systemd-analyze is not installed: the unit is not verified"
fi

# --- make install --------------------------------------------------------------------------------
D=$T_DIR/root
make -s -C "$ROOT" BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr -o "$BUILD/kvfs" -o "$BUILD/kvfsctl" \
	install-bin install-mount-helper install-systemd install-man install-doc >"$T_DIR/install.log" 2>&1 ||
	t_fail "make install: $(cat "$T_DIR/install.log")"
for f in usr/bin/kvfs usr/bin/kvfsctl sbin/mount.kvfs usr/lib/systemd/system/kvfs@.service \
	usr/share/man/man8/kvfs.8 usr/share/man/man8/kvfsctl.8 usr/share/man/man8/mount.kvfs.8 \
	usr/share/man/man3/libkvfs-gpu.3 usr/share/doc/kvfs/examples/fstab; do
	[[ -f $D/$f ]] || t_fail "make install did not install /$f"
done
t_eq "$(readlink "$D/sbin/mount.fuse.kvfs")" mount.kvfs "the mount.fuse.kvfs link"
grep -qx 'KVFS=/usr/bin/kvfs' "$D/sbin/mount.kvfs" || t_fail "the installed mount.kvfs does not run /usr/bin/kvfs"
grep -q '^ExecStart=/usr/bin/kvfs %f ' "$D/usr/lib/systemd/system/kvfs@.service" ||
	t_fail "the installed unit does not run /usr/bin/kvfs"
t_log "ok ($(t_elapsed))"
