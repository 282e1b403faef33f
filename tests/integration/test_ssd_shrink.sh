#!/usr/bin/env bash
# test_ssd_shrink.sh - lowering ssd_size loses no file:
#   - a store of 8 slabs (ssd_size=256M: 32 MiB each) holds 60 files of 4
#     MiB, so files lie in every slab;
#   - restarted with ssd_size=128M (4 slabs), every file reads back
#     byte-equal, df shows 128 MiB, and the daemon says the slabs past
#     ssd_size still hold files;
#   - a file written then lands in the 4 slabs: once the 60 files are
#     deleted, the next start deletes slabs 4-7 and that file reads back.
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern

M=$T_DIR/mnt
D=$T_DIR/ssd
S=$T_DIR/state
mkdir -p "$D"
nslabs() { find "$D" -maxdepth 1 -name 'kvfs-slab-[0-9][0-9][0-9][0-9]' | wc -l; }

kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=256M"
t_require_kvfs_mount "$M"
for i in $(seq 1 60); do
	"$IT/pattern" "$i" 4M >"$M/f$i.kv"
done
t_wait_flushed "$M"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
t_eq "$(nslabs)" 8 "slab files of a 256 MiB store"

kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=128M"
t_require_kvfs_mount "$M"
for i in $(seq 1 60); do
	"$IT/pattern" "$i" 4M >"$T_DIR/ref"
	t_cmp "$M/f$i.kv" "$T_DIR/ref"
done
t_eq "$(t_statfs "$M" total)" $((128 << 20)) "df size after lowering ssd_size"
grep -q "past ssd_size still hold files" "${T_LOG[$M]}" ||
	t_fail "the daemon did not say that slabs past ssd_size drain: $(cat "${T_LOG[$M]}")"
t_eq "$(nslabs)" 8 "slab files while files lie past ssd_size"
t_eq "$(t_stat "$M" store draining_slabs)" 4 "draining_slabs in stats.json"
"$IT/pattern" 99 4M >"$M/new.kv"
t_wait_flushed "$M"
rm -f "$M"/f*.kv
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
t_log "60 files read back after shrinking ($(t_elapsed))"

kvfs_mount "$M" "$S" "mem=64M,ssd=$D,ssd_size=128M"
t_require_kvfs_mount "$M"
t_eq "$(nslabs)" 4 "slab files once nothing lies past ssd_size"
t_eq "$(t_stat "$M" store draining_slabs)" 0 "draining_slabs once the slabs are gone"
grep -q "removed 4 slabs" "${T_LOG[$M]}" ||
	t_fail "the daemon did not report the removed slabs: $(cat "${T_LOG[$M]}")"
t_eq "$(t_xattr "$M/new.kv" user.kvfs.tier)" ssd "tier of the file written after shrinking"
"$IT/pattern" 99 4M >"$T_DIR/ref"
t_cmp "$M/new.kv" "$T_DIR/ref"
kvfs_umount "$M"
t_release_mem "$T_DIR" # memory lost, as at a reboot: the SSD is tested
t_log "done ($(t_elapsed))"
