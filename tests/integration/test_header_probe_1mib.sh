#!/usr/bin/env bash
# test_header_probe_1mib.sh - regression test for issue 11's "a 52-byte
# header probe of a memory file moves 1 MiB": Python's buffered reader fills
# a buffer of st_blksize bytes, and kvfs reported 1 MiB for every file, so
# each probe of a scan asked the daemon for 1 MiB.  Now a published file
# reports 4096: a probe through Python and one through stdio (fread 48 + 4)
# each move at most 8 KiB (the daemon's io.read_bytes), return the right
# bytes, and whole-file and 1 MiB reads still read everything.  A file being
# written keeps st_blksize 1 MiB (Python's writer sends 1 MiB writes).
. "$(dirname "$0")/lib.sh"
t_require_fuse
t_require_helper pattern headprobe
t_require_cmd python3

M=$T_DIR/mnt
kvfs_mount "$M" "$T_DIR/state" mem=512M
t_require_kvfs_mount "$M"

size=$((64 << 20))
"$IT/pattern" 5 "$size" >"$T_DIR/ref"
cp "$T_DIR/ref" "$M/big.kv.tmp.1"
mv "$M/big.kv.tmp.1" "$M/big.kv"
want=$(head -c 52 "$T_DIR/ref" | od -An -v -tx1 | tr -d ' \n')

read_bytes() { t_stat "$M" io read_bytes; }

# Python: open(path, "rb"), read(48), read(4): one buffer fill.
r0=$(read_bytes)
got=$(python3 -c '
import sys
with open(sys.argv[1], "rb") as f:
    h = f.read(48) + f.read(4)
print(h.hex())' "$M/big.kv")
r1=$(read_bytes)
t_eq "$got" "$want" "the 52 bytes Python read"
((r1 - r0 <= 8192)) ||
	t_fail "a 52-byte Python probe of a 64 MiB file moved $((r1 - r0)) bytes (at most 8192 expected)"
t_log "Python probe: $((r1 - r0)) bytes from the daemon"

# stdio: fopen "rb", fread 48 + 4 (glibc's buffer is at most 8 KiB).
got=$("$IT/headprobe" read "$M/big.kv") || t_fail "headprobe read failed"
r2=$(read_bytes)
t_eq "$got" "$want" "the 52 bytes fread read"
((r2 - r1 <= 8192)) ||
	t_fail "a 52-byte fread probe of a 64 MiB file moved $((r2 - r1)) bytes (at most 8192 expected)"
t_log "stdio probe: $((r2 - r1)) bytes from the daemon"

t_eq "$(stat -c %o "$M/big.kv")" 4096 "st_blksize of a published 64 MiB file"

# Large reads are not cut to the buffer: 1 MiB reads and one whole-file read.
dd if="$M/big.kv" bs=1M status=none | cmp - "$T_DIR/ref" ||
	t_fail "1 MiB reads of big.kv differ from the reference"
python3 -c '
import sys
with open(sys.argv[1], "rb") as f:
    data = f.read()
with open(sys.argv[2], "rb") as g:
    sys.exit(0 if data == g.read() else 1)' "$M/big.kv" "$T_DIR/ref" ||
	t_fail "a whole-file Python read of big.kv differs from the reference"

# While a file is being written its creator sees 1 MiB.
blk=$(python3 -c '
import os, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"x" * 100)
    print(os.fstat(f.fileno()).st_blksize)' "$M/new.kv")
t_eq "$blk" 1048576 "st_blksize of a file being written, to its writer"
t_eq "$(stat -c %o "$M/new.kv")" 4096 "st_blksize of that file once published"
kvfs_umount "$M"
t_log "ok"
