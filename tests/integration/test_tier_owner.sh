#!/usr/bin/env bash
# test_tier_owner.sh - one owner for a file's tier state (fs/tier.h): the
# build fails when code outside fs/tier.c writes a field of an inode's `t`
# (tools/check-tier.sh, run by make before it archives the core).  In a copy
# of the Makefile, fs/, index/ and the check: the tree as it is passes; each
# kind of write (assignment, op-assignment, ++, an atomic store, a free, a
# writable pointer) added to another file fails, naming the file and line;
# the same line in fs/tier.c, the flush queue's links in store.c, a comment
# and a read pass.  No FUSE mount needed.
. "$(dirname "$0")/lib.sh"
t_require_cmd make awk grep
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

W=$T_DIR/tree
mkdir -p "$W/tools"
cp -r "$ROOT/Makefile" "$ROOT/fs" "$ROOT/index" "$W/"
cp "$ROOT/tools/check-tier.sh" "$W/tools/"
cp "$W/fs/evict.c" "$T_DIR/evict.c.orig"
cp "$W/fs/tier.c" "$T_DIR/tier.c.orig"

# t_check: make the check's stamp in the copy; output in $T_DIR/check.out.
t_check() {
	rm -f "$W/b/tier-owner.ok"
	make -C "$W" --no-print-directory BUILD=b CHECKS=0 b/tier-owner.ok >"$T_DIR/check.out" 2>&1
}

# t_with FILE LINE: FILE (under fs/) is its original plus LINE at its end.
t_with() {
	cp "$T_DIR/$1.orig" "$W/fs/$1"
	printf '%s\n' "$2" >>"$W/fs/$1"
}

t_check || t_fail "the tree as it is fails the check: $(cat "$T_DIR/check.out")"
[[ -f $W/b/tier-owner.ok ]] || t_fail "the check passed but left no stamp"

n=$(wc -l <"$T_DIR/evict.c.orig")
bad=(
	'static void f1(struct kvfs_inode *ino) { ino->t.head_loaded = 1; }'
	'static void f2(struct kvfs_inode *ino) { ino->t.stored_bytes += 4096; }'
	'static void f3(struct kvfs_inode *ino) { ino->t.stored.c[0].len = 0; }'
	'static void f4(struct kvfs_inode *ino) { ino->t.stored_gen++; }'
	'static void f5(struct kvfs_inode *ino) { atomic_store(&ino->t.promoting, 1); }'
	'static void f6(struct kvfs_inode *ino) { free(ino->t.changed); }'
	'static void f7(struct kvfs_inode *ino) { struct kvfs_tier *t = &ino->t; (void)t; }'
	'static void f8(struct kvfs_inode *ino) { struct kvfs_map *m = &ino->t.stored; (void)m; }'
)
for line in "${bad[@]}"; do
	t_with evict.c "$line"
	if t_check; then
		t_fail "a write of the tier state outside tier.c passed: $line"
	fi
	grep -q "^fs/evict.c:$((n + 1)): " "$T_DIR/check.out" ||
		t_fail "the failure does not name fs/evict.c:$((n + 1)) for '$line': $(cat "$T_DIR/check.out")"
	grep -q "outside fs/tier.c; call one of its verbs" "$T_DIR/check.out" ||
		t_fail "the failure does not say what to do: $(cat "$T_DIR/check.out")"
	[[ ! -e $W/b/tier-owner.ok ]] || t_fail "a stamp was left for '$line'"
done

good=(
	'/* ino->t.head_loaded = 1; in a comment */'
	'static int g1(const struct kvfs_inode *ino) { return ino->t.resident == 1 || ino->t.err != 0; }'
	'static int g2(const struct kvfs_inode *ino) { const struct kvfs_tier *t = &ino->t; return t->resident; }'
	'static uint64_t g3(struct kvfs_inode *ino) { return atomic_load(&ino->t.ready) <= ino->size; }'
	'static void g4(struct kvfs_inode *ino) { ino->t.qnext = NULL; ino->t.queued = 0; }'
)
for line in "${good[@]}"; do
	t_with evict.c "$line"
	t_check || t_fail "a line that writes no tier state failed: $line: $(cat "$T_DIR/check.out")"
done
cp "$T_DIR/evict.c.orig" "$W/fs/evict.c"

# The owner itself may write.
t_with tier.c "${bad[0]}"
t_check || t_fail "fs/tier.c may write the state, but failed: $(cat "$T_DIR/check.out")"
cp "$T_DIR/tier.c.orig" "$W/fs/tier.c"

# The real build made its stamp.
[[ -f $BUILD/tier-owner.ok ]] || t_fail "$BUILD/tier-owner.ok missing: the build did not run the check"
t_log "${#bad[@]} kinds of write outside fs/tier.c fail the build, ${#good[@]} non-writes and tier.c's own pass"
